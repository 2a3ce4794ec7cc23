-- 0007: runbook properties (issue 14) — schedule gate, logging level,
-- notifications, job timeout and retries, disable/enable, job priority.
-- orch/server/PROPERTIES.md says how they work.

-- The properties of each checked-in version, read from its document by the
-- database itself (generated columns), so the claim, the triggers and the
-- notifier never parse a document and no write path has to fill them in.
ALTER TABLE runbook_versions
    ADD COLUMN schedule_name text
        GENERATED ALWAYS AS (document->'schedule'->>'name') STORED,
    ADD COLUMN schedule_outside text
        GENERATED ALWAYS AS (coalesce(document->'schedule'->>'outside', 'wait')) STORED,
    ADD COLUMN store_published_data boolean
        GENERATED ALWAYS AS (coalesce((document->'logging'->>'store_published_data')::boolean,
                                      true)) STORED,
    ADD COLUMN store_common_data boolean
        GENERATED ALWAYS AS (coalesce((document->'logging'->>'store_common_data')::boolean,
                                      true)) STORED,
    ADD COLUMN job_timeout_seconds double precision
        GENERATED ALWAYS AS ((document->>'job_timeout_seconds')::double precision) STORED,
    ADD COLUMN max_retries integer
        GENERATED ALWAYS AS (coalesce((document->'retry'->>'max_retries')::integer, 0)) STORED,
    ADD COLUMN retry_backoff_seconds double precision
        GENERATED ALWAYS AS (coalesce((document->'retry'->>'backoff_seconds')::double precision,
                                      0)) STORED,
    ADD COLUMN retry_backoff_factor double precision
        GENERATED ALWAYS AS (coalesce((document->'retry'->>'backoff_factor')::double precision,
                                      1)) STORED,
    ADD COLUMN notify_longer_than double precision
        GENERATED ALWAYS AS ((document->'notifications'->>'runs_longer_than_seconds')
                             ::double precision) STORED,
    ADD COLUMN notify_failure_to_run double precision
        GENERATED ALWAYS AS (CASE WHEN (document->'notifications'->>'on_failure_to_run')::boolean
                                  THEN coalesce((document->'notifications'
                                                 ->>'failure_to_run_seconds')::double precision,
                                                60) END) STORED;

-- A disabled runbook takes no new jobs (409); its queued jobs wait ('runbook disabled').
ALTER TABLE runbooks
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN disabled_by text;

-- priority: higher first within a server's claims. not_before: a retry's
-- back-off. gate_until: the schedule gate is open until then (orch_now()
-- time; null: closed) — set at the start and by the servers' gate step.
-- retries: how many times the job was queued again after a failure.
ALTER TABLE jobs
    ADD COLUMN priority integer NOT NULL DEFAULT 0,
    ADD COLUMN not_before timestamptz,
    ADD COLUMN gate_until timestamptz,
    ADD COLUMN retries integer NOT NULL DEFAULT 0;
DROP INDEX jobs_queued;
CREATE INDEX jobs_queued ON jobs (priority DESC, created_at) WHERE status = 'queued';

-- Notifications (kind 'notification' events) waiting for delivery; one
-- server claims each (FOR UPDATE SKIP LOCKED) and records the outcome.
CREATE TABLE notifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('runs_longer', 'failed_to_run')),
    job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    instance_id   uuid,
    runbook_id    uuid NOT NULL,
    runbook_path  text NOT NULL,
    message       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts      integer NOT NULL DEFAULT 0,
    next_try_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_by    text,
    claimed_until timestamptz,
    delivered_at  timestamptz,
    last_error    text,
    UNIQUE (kind, job_id, instance_id)
);
CREATE INDEX notifications_pending ON notifications (next_try_at) WHERE delivered_at IS NULL;

-- The time the schedule gate reads. Production: now(). Tests put one row in
-- test_clock to set the time, never sleeping until a window.
CREATE TABLE test_clock (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    now       timestamptz NOT NULL
);
CREATE FUNCTION orch_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT t.now FROM test_clock t), now())
$$;

-- Retries: a job whose instance failed goes back to the queue while it has
-- retries left, as one row update (the writer's outcome statement), so no
-- waiter ever sees it 'failed' in between. Not for monitors, not after a stop.
CREATE FUNCTION orch_retry_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v runbook_versions%ROWTYPE;
    wait double precision;
BEGIN
    SELECT * INTO v FROM runbook_versions
     WHERE runbook_id = NEW.runbook_id AND version = NEW.runbook_version;
    IF v.max_retries IS NULL OR NEW.retries >= v.max_retries THEN
        RETURN NEW;
    END IF;
    wait := v.retry_backoff_seconds * power(v.retry_backoff_factor, NEW.retries);
    NEW.retries := NEW.retries + 1;
    NEW.status := 'queued';
    NEW.claimed_by := NULL;
    NEW.ended_at := NULL;
    NEW.returned_data := NULL;
    NEW.not_before := clock_timestamp() + make_interval(secs => wait);
    NEW.waiting_reason := format('retry %s of %s after a failure, not before %s',
                                 NEW.retries, v.max_retries,
                                 to_char(NEW.not_before AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    RETURN NEW;
END;
$$;
CREATE TRIGGER jobs_retry BEFORE UPDATE OF status ON jobs
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status = 'failed'
                       AND NOT NEW.is_monitor AND NEW.stop_requested_at IS NULL)
    EXECUTE FUNCTION orch_retry_job();

-- Logging level: when an instance ends, a runbook that does not store
-- published data keeps only statuses and timings of its activity runs (the
-- data was needed for resuming until then). Strips the activity-specific
-- fields, the common ones, or both, as the version says.
CREATE FUNCTION orch_strip_published() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep_own boolean;
    keep_common boolean;
BEGIN
    SELECT v.store_published_data, v.store_common_data INTO keep_own, keep_common
      FROM jobs j
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
     WHERE j.id = NEW.job_id;
    IF keep_own IS NULL OR (keep_own AND keep_common) THEN
        RETURN NULL;
    END IF;
    UPDATE activity_runs a
       SET published = CASE WHEN NOT keep_own AND NOT keep_common THEN '[]'::jsonb
                       ELSE (SELECT coalesce(jsonb_agg(
                                 CASE WHEN keep_common
                                      THEN (SELECT coalesce(jsonb_object_agg(f.key, f.value),
                                                            '{}'::jsonb)
                                              FROM jsonb_each(item) f
                                             WHERE f.key IN ('Status', 'StartTime', 'EndTime',
                                                             'ErrorSummary', 'ActivityName'))
                                      ELSE item - ARRAY['Status', 'StartTime', 'EndTime',
                                                        'ErrorSummary', 'ActivityName'] END
                                 ORDER BY n), '[]'::jsonb)
                               FROM jsonb_array_elements(a.published) WITH ORDINALITY
                                    AS x(item, n)) END
     WHERE a.instance_id = NEW.id AND a.published <> '[]'::jsonb;
    RETURN NULL;
END;
$$;
CREATE TRIGGER instances_strip_published AFTER UPDATE OF status ON instances
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
    EXECUTE FUNCTION orch_strip_published();

-- The claim as in 0005, plus: higher priority first; not a disabled
-- runbook's job; not before a retry's back-off; a job of a scheduled runbook
-- only while its schedule gate is open (gate_until, in orch_now() time).
CREATE OR REPLACE FUNCTION orch_claim_jobs(p_server text, p_limit integer, p_running integer,
                                           p_timeout double precision)
RETURNS TABLE (job_id uuid, instance_id uuid, runbook_id uuid, runbook_version integer,
               runbook_path text, runbook_name text, parameters jsonb, created_by uuid,
               started_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_folders boolean;  -- some folder has an assignment
    v_assigned uuid[];  -- runbooks with an assignment of their own (no folder assignments)
    v_free uuid[];      -- runbooks with queued jobs and no assignment (folder assignments)
    v_mine uuid[];      -- runbooks with an assignment that p_server may run now
    v_types text[];     -- the activity types p_server has (null: no row, not checked)
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    v_types := (SELECT s.activity_types FROM servers s WHERE s.name = p_server);
    v_folders := EXISTS (SELECT 1 FROM folder_servers);
    IF v_folders THEN
        -- A job queued after this statement's snapshot is in neither array:
        -- it waits for the next round (its NOTIFY wakes one) rather than
        -- being claimed against its assignment.
        WITH queued AS (
            SELECT DISTINCT q.runbook_id FROM jobs q WHERE q.status = 'queued'
        ),
        a AS (
            SELECT ra.* FROM runbook_assignment ra
             WHERE ra.runbook_id IN (SELECT queued.runbook_id FROM queued)
        )
        SELECT ARRAY(SELECT queued.runbook_id FROM queued
                      WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.runbook_id = queued.runbook_id)),
               ARRAY(SELECT mine.runbook_id FROM a mine
                      WHERE mine.server_name = p_server
                        AND NOT EXISTS (
                            SELECT 1 FROM a b
                              JOIN servers s ON s.name = b.server_name
                             WHERE b.runbook_id = mine.runbook_id
                               AND b.position < mine.position
                               AND s.status = 'up'
                               AND s.heartbeat_at > now() - make_interval(secs => p_timeout)
                               AND s.running < s.capacity))
          INTO v_free, v_mine;
    ELSE
        SELECT ARRAY(SELECT DISTINCT a.runbook_id FROM runbook_servers a),
               ARRAY(SELECT mine.runbook_id FROM runbook_servers mine
                      WHERE mine.server_name = p_server
                        AND NOT EXISTS (
                            SELECT 1 FROM runbook_servers b
                              JOIN servers s ON s.name = b.server_name
                             WHERE b.runbook_id = mine.runbook_id
                               AND b.position < mine.position
                               AND s.status = 'up'
                               AND s.heartbeat_at > now() - make_interval(secs => p_timeout)
                               AND s.running < s.capacity))
          INTO v_assigned, v_mine;
    END IF;
    PERFORM pg_advisory_xact_lock(1869771619, l.key)
       FROM (SELECT DISTINCT hashtext(r.id::text) AS key
               FROM runbooks r
              WHERE r.max_concurrent_jobs > 0
                AND EXISTS (SELECT 1 FROM jobs q
                             WHERE q.runbook_id = r.id AND q.status = 'queued')
              ORDER BY 1) l;
    RETURN QUERY
    WITH candidates AS (
        SELECT j.id, j.runbook_id, j.priority, j.created_at, r.max_concurrent_jobs AS max_jobs
          FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
          JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
         WHERE j.status = 'queued'
           AND r.disabled_at IS NULL
           AND (j.not_before IS NULL OR j.not_before <= clock_timestamp())
           AND (v.schedule_name IS NULL OR j.gate_until > orch_now())
           AND (v_types IS NULL OR v.activity_types IS NULL OR v.activity_types <@ v_types)
           AND (j.target_server = p_server
                OR (j.target_server IS NULL
                    AND (CASE WHEN v_folders THEN j.runbook_id = ANY (v_free)
                              ELSE j.runbook_id <> ALL (v_assigned) END
                         OR j.runbook_id = ANY (v_mine))))
           AND (r.max_concurrent_jobs = 0
                OR r.max_concurrent_jobs > (SELECT count(*) FROM jobs x
                                             WHERE x.runbook_id = j.runbook_id
                                               AND x.status = 'running'))
         ORDER BY j.priority DESC, j.created_at
         LIMIT p_limit
         FOR UPDATE OF j SKIP LOCKED
    ),
    ranked AS (
        SELECT c.id, c.max_jobs,
               row_number() OVER (PARTITION BY c.runbook_id
                                  ORDER BY c.priority DESC, c.created_at) AS rn,
               CASE WHEN c.max_jobs = 0 THEN 0
                    ELSE (SELECT count(*) FROM jobs x
                           WHERE x.runbook_id = c.runbook_id AND x.status = 'running')
               END AS running_now
          FROM candidates c
    ),
    claimed AS (
        UPDATE jobs j
           SET status = 'running', claimed_by = p_server, started_at = clock_timestamp(),
               waiting_reason = NULL, instance_id = gen_random_uuid()
          FROM ranked k
         WHERE j.id = k.id AND (k.max_jobs = 0 OR k.rn + k.running_now <= k.max_jobs)
        RETURNING j.id, j.instance_id, j.runbook_id, j.runbook_version, j.parameters,
                  j.created_by, j.started_at, j.created_at, j.priority
    ),
    new_instances AS (
        INSERT INTO instances (id, job_id, server, epoch, status, started_at)
        SELECT c.instance_id, c.id, p_server, 1, 'running', c.started_at FROM claimed c
    ),
    new_events AS (
        INSERT INTO events (kind, at, runbook_id, job_id, instance_id, status, server, data)
        SELECT e.kind, e.at, e.runbook_id, e.job_id, e.instance_id, 'running', p_server, e.data
          FROM (SELECT 'job' AS kind, c.started_at AS at, c.runbook_id, c.id AS job_id,
                       c.instance_id, jsonb_build_object('claimed_by', p_server) AS data,
                       c.priority, c.created_at AS created_at, 1 AS ord
                  FROM claimed c
                UNION ALL
                SELECT 'instance', c.started_at, c.runbook_id, c.id, c.instance_id,
                       jsonb_build_object('server', p_server, 'epoch', 1), c.priority,
                       c.created_at, 2
                  FROM claimed c) e
         ORDER BY e.priority DESC, e.created_at, e.job_id, e.ord
    ),
    me AS (
        UPDATE servers SET running = p_running + (SELECT count(*) FROM claimed)
         WHERE name = p_server AND EXISTS (SELECT 1 FROM claimed)
    )
    SELECT c.id, c.instance_id, c.runbook_id, c.runbook_version, r.path, r.name,
           c.parameters, c.created_by, c.started_at
      FROM claimed c JOIN runbooks r ON r.id = c.runbook_id
     ORDER BY c.priority DESC, c.created_at;
END;
$$;
