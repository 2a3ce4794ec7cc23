-- 0017: a job started while a runbook server sits idle is handed to it by the
-- start itself (issue 21: pickup). The inserting statement (orch/sql/jobs.sql
-- insert_job) claims the job for an idle server that accepts pushes — its
-- push_until, refreshed by its heartbeat while its listener listens, lies
-- ahead — and NOTIFYs orch_push with what the server needs to start it, so the
-- job's first activity starts without a claim's round trip. Jobs nobody was
-- pushed (every insert while no server is idle) are queued and wake the
-- servers' claimers as before; a pushed job wakes nobody else.
ALTER TABLE servers ADD COLUMN push_until timestamptz;

CREATE OR REPLACE FUNCTION orch_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'queued') THEN
        PERFORM pg_notify('orch_jobs', '');
    END IF;
    RETURN NULL;
END;
$$;
DROP TRIGGER jobs_notify ON jobs;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_jobs();
