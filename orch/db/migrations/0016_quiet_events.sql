-- 0016: a lone instance's step may leave the live feed's wake-up to an earlier
-- one (issue 21). Every statement inserting events NOTIFYs orch_events at its
-- commit, and a NOTIFY is not free: PostgreSQL serialises notifying commits (a
-- lock held through the commit's WAL flush) and wakes every listener's backend
-- and process. A runbook server's group commit writer that notified less than
-- a moment ago marks a lone run's statement quiet (set_config(
-- 'orch.events_quiet', 'on', true): this transaction only); the gateways'
-- readers, once woken, keep polling for longer than that moment
-- (orch/db/feed_wake.py says how long each waits).
CREATE OR REPLACE FUNCTION orch_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('orch.events_quiet', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('orch_events', '');
    END IF;
    RETURN NULL;
END;
$$;
