-- 0005: integration packs and capability matching; counters, schedules,
-- approvals; monitors' trigger instances and webhooks (issue 8).

-- A pack registered by `orch ip install`: every version ever installed, with
-- the JSON Schemas of its activity types (generated from their Structs).
CREATE TABLE integration_packs (
    name           text NOT NULL,                 -- the orch.activities entry point name
    version        text NOT NULL,                 -- the distribution's version
    distribution   text NOT NULL,
    registered_by  text,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

CREATE TABLE pack_activity_types (
    pack           text NOT NULL,
    pack_version   text NOT NULL,
    name           text NOT NULL,
    display_name   text NOT NULL DEFAULT '',
    description    text NOT NULL DEFAULT '',
    category       text NOT NULL DEFAULT '',
    rerunnable     boolean NOT NULL DEFAULT false,
    monitor        boolean NOT NULL DEFAULT false,
    input_schema   jsonb NOT NULL,
    output_schema  jsonb NOT NULL,
    PRIMARY KEY (pack, pack_version, name),
    FOREIGN KEY (pack, pack_version) REFERENCES integration_packs (name, version)
        ON DELETE CASCADE
);

-- Capability matching: the qualified activity types ('pack:name') a version
-- uses, set at check-in (null: unknown, no requirement); and the types and
-- pack versions ({"pack": "version"}) each runbook server reports.
ALTER TABLE runbook_versions ADD COLUMN activity_types text[];
ALTER TABLE servers ADD COLUMN activity_types text[] NOT NULL DEFAULT '{}';
ALTER TABLE servers ADD COLUMN pack_versions jsonb NOT NULL DEFAULT '{}';

-- A monitor runbook's job has one monitor instance (null here) and one
-- instance per trigger, which names the monitor instance that started it.
ALTER TABLE instances ADD COLUMN triggered_by uuid;

-- Counters: every change is one UPDATE (atomic across runbook servers).
CREATE TABLE counters (
    name           text PRIMARY KEY,
    value          bigint NOT NULL DEFAULT 0,
    default_value  bigint NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Named schedules (orch.sdk.schedule.Schedule as JSON).
CREATE TABLE schedules (
    name        text PRIMARY KEY,
    definition  jsonb NOT NULL,
    updated_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- wait_for_approval: one row per waiting run (run_key: its run id, so a
-- takeover waits for the same approval).
CREATE TABLE approvals (
    id               uuid PRIMARY KEY,
    run_key          text NOT NULL UNIQUE,
    job_id           uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    instance_id      uuid NOT NULL,
    runbook_id       uuid NOT NULL,
    runbook_path     text NOT NULL,
    activity         text NOT NULL,
    message          text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    requested_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at       timestamptz NOT NULL,
    decided_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_by_name  text,
    decided_at       timestamptz,
    comment          text NOT NULL DEFAULT ''
);
CREATE INDEX approvals_pending ON approvals (requested_at) WHERE status = 'pending';

-- A decision wakes the waiting runbook server (LISTEN orch_approvals, payload: the id).
CREATE FUNCTION orch_notify_approval() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_approvals', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER approvals_notify AFTER UPDATE OF status ON approvals
    FOR EACH ROW WHEN (OLD.status = 'pending' AND NEW.status <> 'pending')
    EXECUTE FUNCTION orch_notify_approval();

-- monitor_webhook: the endpoint of a runbook while its monitor listens (the
-- token's sha256), and the requests the gateway accepted for it.
CREATE TABLE webhooks (
    runbook_id   uuid PRIMARY KEY REFERENCES runbooks (id) ON DELETE CASCADE,
    token_hash   text NOT NULL,
    instance_id  uuid,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_requests (
    id           uuid PRIMARY KEY,
    runbook_id   uuid NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    body         jsonb NOT NULL,
    remote       text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    taken_at     timestamptz
);
CREATE INDEX webhook_requests_waiting ON webhook_requests (runbook_id, received_at)
    WHERE taken_at IS NULL;

-- An accepted request wakes the listening monitor (LISTEN orch_hooks, payload: runbook id).
CREATE FUNCTION orch_notify_hook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_hooks', NEW.runbook_id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhook_requests_notify AFTER INSERT ON webhook_requests
    FOR EACH ROW EXECUTE FUNCTION orch_notify_hook();

-- Capability matching: orch_claim_jobs as in 0003, plus one rule — a server
-- claims a job only if it has every activity type the job's runbook version
-- uses (runbook_versions.activity_types <@ servers.activity_types; a version
-- checked in before 0005 has no list and needs nothing).
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
        SELECT j.id, j.runbook_id, j.created_at, r.max_concurrent_jobs AS max_jobs
          FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
          JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
         WHERE j.status = 'queued'
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
         ORDER BY j.created_at
         LIMIT p_limit
         FOR UPDATE OF j SKIP LOCKED
    ),
    ranked AS (
        SELECT c.id, c.max_jobs,
               row_number() OVER (PARTITION BY c.runbook_id ORDER BY c.created_at) AS rn,
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
                  j.created_by, j.started_at, j.created_at
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
                       c.created_at AS created_at, 1 AS ord
                  FROM claimed c
                UNION ALL
                SELECT 'instance', c.started_at, c.runbook_id, c.id, c.instance_id,
                       jsonb_build_object('server', p_server, 'epoch', 1), c.created_at, 2
                  FROM claimed c) e
         ORDER BY e.created_at, e.job_id, e.ord
    ),
    me AS (
        UPDATE servers SET running = p_running + (SELECT count(*) FROM claimed)
         WHERE name = p_server AND EXISTS (SELECT 1 FROM claimed)
    )
    SELECT c.id, c.instance_id, c.runbook_id, c.runbook_version, r.path, r.name,
           c.parameters, c.created_by, c.started_at
      FROM claimed c JOIN runbooks r ON r.id = c.runbook_id
     ORDER BY c.created_at;
END;
$$;
