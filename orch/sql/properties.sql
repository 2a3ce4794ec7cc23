-- Runbook properties (issue 14): schedule gate, disable/enable, notifications.
-- orch/server/PROPERTIES.md says how they work.

-- name: schedule_now
-- $1 schedule name. Its definition (null: no such schedule) and the time the gate reads.
SELECT (SELECT s.definition FROM schedules s WHERE s.name = $1) AS definition,
       orch_now() AS now

-- name: gated_jobs
-- (no parameters) Queued jobs of runbooks gated by a schedule, with the
-- schedule's definition; not those that wait for another reason first (a
-- disabled runbook, a retry's back-off).
SELECT j.id, v.schedule_name, s.definition, j.gate_until, j.waiting_reason,
       orch_now() AS now
  FROM jobs j
  JOIN runbooks r ON r.id = j.runbook_id
  JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
  LEFT JOIN schedules s ON s.name = v.schedule_name
 WHERE j.status = 'queued' AND v.schedule_name IS NOT NULL
   AND r.disabled_at IS NULL
   AND (j.not_before IS NULL OR j.not_before <= clock_timestamp())

-- name: set_gates
-- $1 job ids, $2 gate_until (null: closed), $3 waiting reasons (null when open)
UPDATE jobs j
   SET gate_until = g.until,
       waiting_reason = CASE WHEN g.until IS NULL THEN g.reason ELSE j.waiting_reason END
  FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS g(id, until, reason)
 WHERE j.id = g.id AND j.status = 'queued'

-- name: set_runbook_disabled
-- $1 runbook id, $2 true to disable / false to enable, $3 who (for the audit).
-- Returns the runbook's disabled_at afterwards (no row: unknown runbook). Its
-- queued jobs show 'runbook disabled' at once; on enable the servers' next
-- waiting-reasons round says what they wait for (and the NOTIFY wakes them).
WITH rb AS (
    UPDATE runbooks
       SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, clock_timestamp()) END,
           disabled_by = CASE WHEN $2 THEN coalesce(disabled_by, $3) END
     WHERE id = $1
    RETURNING id, path, disabled_at
),
queued AS (
    UPDATE jobs j
       SET waiting_reason = CASE WHEN $2 THEN 'runbook disabled' END
      FROM rb
     WHERE j.runbook_id = rb.id AND j.status = 'queued'
),
ev AS (
    INSERT INTO events (kind, runbook_id, status, data)
    SELECT 'runbook', rb.id, CASE WHEN $2 THEN 'disabled' ELSE 'enabled' END,
           jsonb_build_object('by', $3::text)
      FROM rb
),
au AS (
    INSERT INTO audit (actor, action, target)
    SELECT $3, CASE WHEN $2 THEN 'runbook.disabled' ELSE 'runbook.enabled' END, rb.path
      FROM rb
)
SELECT rb.disabled_at, pg_notify('orch_jobs', '') AS woke FROM rb

-- name: live_monitor_jobs
-- $1 runbook id; its queued or running monitor jobs (stopped when it is disabled)
SELECT id::text FROM jobs
 WHERE runbook_id = $1 AND is_monitor AND status IN ('queued', 'running')
