-- Shared state behind ctx.services on a runbook server (orch/db/services.py),
-- monitors' trigger instances (orch/server/monitors.py), and the gateway's
-- schedules / approvals / webhook routes (orch/gateway/state.py).

-- name: counter_get
-- $1 counter name
SELECT name, value, default_value FROM counters WHERE name = $1

-- name: counter_modify
-- $1 name, $2 action ('set', 'increment', 'decrement', 'reset'), $3 value.
-- One statement: the row lock of the upsert makes concurrent changes queue.
INSERT INTO counters AS c (name, value)
VALUES ($1, CASE $2::text WHEN 'set' THEN $3::bigint WHEN 'increment' THEN $3::bigint
                          WHEN 'decrement' THEN -$3::bigint ELSE 0 END)
ON CONFLICT (name) DO UPDATE
   SET value = CASE $2::text WHEN 'set' THEN $3::bigint
                             WHEN 'increment' THEN c.value + $3::bigint
                             WHEN 'decrement' THEN c.value - $3::bigint
                             ELSE c.default_value END,
       updated_at = now()
RETURNING name, value, default_value

-- name: variable_set_plain
-- $1 name, $2 value. Returns nothing when the variable is encrypted (refused).
INSERT INTO variables AS v (name, value, encrypted) VALUES ($1, $2, false)
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
 WHERE NOT v.encrypted
RETURNING name

-- name: schedule_get
-- $1 schedule name
SELECT name, definition, updated_at FROM schedules WHERE name = $1

-- name: schedule_put
-- $1 name, $2 definition, $3 user id. Returns whether it was created.
INSERT INTO schedules AS s (name, definition, updated_by) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE
   SET definition = EXCLUDED.definition, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING (xmax = 0) AS created, updated_at

-- name: approval_request
-- $1 new id, $2 run key, $3 job id, $4 instance id, $5 runbook id, $6 runbook path,
-- $7 activity, $8 message, $9 expires at. The same key gives the existing approval.
INSERT INTO approvals AS a (id, run_key, job_id, instance_id, runbook_id, runbook_path,
                            activity, message, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (run_key) DO UPDATE SET run_key = a.run_key
RETURNING id::text AS id, expires_at

-- name: approvals_decided
-- $1 approval ids; those no longer pending
SELECT id::text AS id, status, decided_by_name, decided_at, comment
  FROM approvals WHERE id = ANY($1::uuid[]) AND status <> 'pending'

-- name: approval_expire
-- $1 approval id. Expires it unless decided; returns the final row either way.
WITH done AS (
    UPDATE approvals SET status = 'expired', decided_at = clock_timestamp()
     WHERE id = $1 AND status = 'pending'
    RETURNING id, status, decided_by_name, decided_at, comment
)
SELECT id::text AS id, status, decided_by_name, decided_at, comment FROM done
UNION ALL
SELECT id::text, status, decided_by_name, decided_at, comment FROM approvals
 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM done)

-- name: approval_row
-- $1 approval id
SELECT id::text AS id, job_id::text AS job_id, instance_id::text AS instance_id,
       runbook_id::text AS runbook_id, runbook_path, activity, message, status, requested_at,
       expires_at, decided_by_name AS decided_by, decided_at, comment
  FROM approvals WHERE id = $1

-- name: approvals_page
-- $1 status or null (all), $2 requested_at/id cursor: time or null, $3 id, $4 limit.
-- Oldest first.
SELECT id::text AS id, job_id::text AS job_id, instance_id::text AS instance_id,
       runbook_id::text AS runbook_id, runbook_path, activity, message, status, requested_at,
       expires_at, decided_by_name AS decided_by, decided_at, comment
  FROM approvals
 WHERE ($1::text IS NULL OR status = $1)
   AND ($2::timestamptz IS NULL OR (requested_at, id) > ($2, $3::uuid))
 ORDER BY requested_at, id
 LIMIT $4

-- name: approval_decide
-- $1 approval id, $2 'approved' or 'rejected', $3 user id, $4 user name, $5 comment.
-- The decision and its audit row commit together; nothing when not pending.
WITH done AS (
    UPDATE approvals
       SET status = $2, decided_by = $3, decided_by_name = $4, decided_at = clock_timestamp(),
           comment = $5
     WHERE id = $1 AND status = 'pending'
    RETURNING id, job_id, runbook_path, activity, status, decided_at
),
audited AS (
    INSERT INTO audit (at, actor, action, target, data)
    SELECT d.decided_at, $4, 'approval.' || d.status, d.runbook_path,
           jsonb_build_object('approval_id', d.id::text, 'job_id', d.job_id::text,
                              'activity', d.activity, 'comment', $5::text)
      FROM done d
)
SELECT id::text FROM done

-- name: webhook_open
-- $1 runbook id, $2 token sha256, $3 monitor instance id
INSERT INTO webhooks (runbook_id, token_hash, instance_id) VALUES ($1, $2, $3)
ON CONFLICT (runbook_id) DO UPDATE
   SET token_hash = EXCLUDED.token_hash, instance_id = EXCLUDED.instance_id,
       created_at = now()

-- name: webhook_close
-- $1 runbook id, $2 token sha256 (only the registration it made)
DELETE FROM webhooks WHERE runbook_id = $1 AND token_hash = $2

-- name: webhook_take
-- $1 runbook id, $2 most requests. Each request is handed out once.
UPDATE webhook_requests w SET taken_at = clock_timestamp()
  FROM (SELECT id FROM webhook_requests
         WHERE runbook_id = $1 AND taken_at IS NULL
         ORDER BY received_at, id
         LIMIT $2
           FOR UPDATE SKIP LOCKED) pick
 WHERE w.id = pick.id
RETURNING w.id::text AS id, w.body, w.received_at, w.remote

-- name: webhook_token
-- $1 runbook id; the listening monitor's token hash (none: no endpoint)
SELECT token_hash FROM webhooks WHERE runbook_id = $1

-- name: webhook_accept
-- $1 request id, $2 runbook id, $3 body, $4 remote address
INSERT INTO webhook_requests (id, runbook_id, body, remote) VALUES ($1, $2, $3, $4)
RETURNING received_at

-- name: monitor_trigger_instance
-- $1 job id, $2 monitor instance id, $3 its epoch, $4 server, $5 new instance id,
-- $6 run id of the start run, $7 start activity id, $8 published items, $9 lineage,
-- $10 time. A trigger of a monitor: a new instance of the monitor's job whose
-- starting run is recorded as a success with the trigger's data — in one
-- statement, so a takeover resumes it like any instance (the start adopted,
-- never re-run). Only while this server owns the monitor at that epoch and no
-- stop was asked. Returns the number of instances created (0 or 1).
WITH job AS (
    UPDATE jobs j SET instance_id = $5
     WHERE j.id = $1 AND j.status = 'running' AND j.stop_requested_at IS NULL
       AND EXISTS (SELECT 1 FROM instances m
                    WHERE m.id = $2 AND m.server = $4 AND m.epoch = $3
                      AND m.status = 'running')
    RETURNING j.id, j.runbook_id
),
inst AS (
    INSERT INTO instances (id, job_id, server, epoch, status, started_at, triggered_by)
    SELECT $5, job.id, $4, 1, 'running', $10, $2 FROM job
    RETURNING id, job_id
),
run AS (
    INSERT INTO activity_runs (run_id, instance_id, activity, parent_run, item, attempt,
                               status, published, lineage, started_at, ended_at)
    SELECT $6, inst.id, $7, NULL, 0, 1, 'success', $8, $9, $10, $10 FROM inst
),
ev AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, activity, run_id, status,
                        server, data)
    SELECT e.kind, $10, job.runbook_id, job.id, $5, e.activity, e.run_id, e.status, $4, e.data
      FROM job,
           (VALUES ('instance', NULL::text, NULL::uuid, 'running',
                    jsonb_build_object('triggered_by', $2::text, 'server', $4::text), 1),
                   ('activity', $7::text, $6::uuid, 'running', NULL::jsonb, 2),
                   ('activity', $7::text, $6::uuid, 'success', NULL::jsonb, 3))
           AS e(kind, activity, run_id, status, data, ord)
     ORDER BY e.ord
)
SELECT count(*)::int FROM inst
