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

-- name: notifications_lock
-- (no parameters) Taken before detect_notifications so that servers looking
-- at the same moment do not raise a notification twice; held to the commit.
SELECT pg_advisory_xact_lock(1869771620, 14)

-- name: detect_notifications
-- (no parameters) Raises the notifications that are due, each once, with a
-- 'notification' event (the live feed carries it): an instance of a runbook
-- with notifications.runs_longer_than_seconds running longer than that; a
-- job of a runbook with notifications.on_failure_to_run queued that long
-- while no server could take it (not while it waits for its schedule, a
-- retry's back-off or an enable), or whose instance failed without running
-- an activity (it failed to start). Returns how many it raised.
WITH longer AS (
    SELECT 'runs_longer' AS kind, j.id AS job_id, i.id AS instance_id, j.runbook_id,
           format('%s: instance %s has been running for more than %s s',
                  r.path, i.id, v.notify_longer_than) AS message, r.path
      FROM instances i
      JOIN jobs j ON j.id = i.job_id
      JOIN runbooks r ON r.id = j.runbook_id
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
     WHERE i.status = 'running' AND v.notify_longer_than IS NOT NULL
       AND i.started_at < clock_timestamp() - make_interval(secs => v.notify_longer_than)
       AND NOT EXISTS (SELECT 1 FROM notifications n
                        WHERE n.kind = 'runs_longer' AND n.instance_id = i.id)
),
stuck AS (
    SELECT 'failed_to_run' AS kind, j.id AS job_id, NULL::uuid AS instance_id, j.runbook_id,
           format('%s: job %s could not run for %s s: %s', r.path, j.id,
                  v.notify_failure_to_run,
                  coalesce(j.waiting_reason, 'no runbook server took it')) AS message, r.path
      FROM jobs j
      JOIN runbooks r ON r.id = j.runbook_id
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
     WHERE j.status = 'queued' AND v.notify_failure_to_run IS NOT NULL
       AND r.disabled_at IS NULL
       AND (j.not_before IS NULL OR j.not_before <= clock_timestamp())
       AND (v.schedule_name IS NULL OR j.gate_until > orch_now())
       AND coalesce(j.not_before, j.created_at)
           < clock_timestamp() - make_interval(secs => v.notify_failure_to_run)
       AND NOT EXISTS (SELECT 1 FROM notifications n
                        WHERE n.kind = 'failed_to_run' AND n.job_id = j.id
                          AND n.instance_id IS NULL)
),
unstarted AS (
    SELECT 'failed_to_run' AS kind, j.id AS job_id, i.id AS instance_id, j.runbook_id,
           format('%s: job %s failed to start: %s', r.path, j.id,
                  coalesce(i.error, 'no activity ran')) AS message, r.path
      FROM jobs j
      JOIN instances i ON i.job_id = j.id
      JOIN runbooks r ON r.id = j.runbook_id
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
     WHERE j.status IN ('failed', 'queued', 'running')
       AND j.created_at > clock_timestamp() - interval '1 day'
       AND v.notify_failure_to_run IS NOT NULL
       AND i.status = 'failed'
       AND NOT EXISTS (SELECT 1 FROM activity_runs a WHERE a.instance_id = i.id)
       AND NOT EXISTS (SELECT 1 FROM notifications n
                        WHERE n.kind = 'failed_to_run' AND n.instance_id = i.id)
),
raised AS (
    INSERT INTO notifications (kind, job_id, instance_id, runbook_id, runbook_path, message)
    SELECT kind, job_id, instance_id, runbook_id, path, message FROM longer
    UNION ALL
    SELECT kind, job_id, instance_id, runbook_id, path, message FROM stuck
    UNION ALL
    SELECT kind, job_id, instance_id, runbook_id, path, message FROM unstarted
    RETURNING id, kind, job_id, instance_id, runbook_id, runbook_path, message, created_at
),
ev AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, status, data)
    SELECT 'notification', n.created_at, n.runbook_id, n.job_id, n.instance_id, n.kind,
           jsonb_build_object('notification_id', n.id, 'message', n.message,
                              'runbook_path', n.runbook_path)
      FROM raised n ORDER BY n.id
)
SELECT count(*) FROM raised

-- name: claim_notifications
-- $1 server, $2 most attempts, $3 how long the claim holds (s). Notifications
-- due for delivery, each taken by one server (SKIP LOCKED) until it reports.
UPDATE notifications n
   SET claimed_by = $1, claimed_until = clock_timestamp() + make_interval(secs => $3),
       attempts = n.attempts + 1
 WHERE n.id IN (SELECT id FROM notifications
                 WHERE delivered_at IS NULL AND attempts < $2
                   AND next_try_at <= clock_timestamp()
                   AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
                 ORDER BY id
                 LIMIT 20
                   FOR UPDATE SKIP LOCKED)
RETURNING n.id, n.kind, n.job_id::text AS job_id, n.instance_id::text AS instance_id,
          n.runbook_id::text AS runbook_id, n.runbook_path, n.message, n.created_at,
          n.attempts

-- name: notification_delivered
-- $1 id, $2 server
UPDATE notifications SET delivered_at = clock_timestamp(), claimed_until = NULL,
                         last_error = NULL
 WHERE id = $1 AND claimed_by = $2

-- name: notification_failed
-- $1 id, $2 server, $3 error, $4 back-off (s) before the next try
UPDATE notifications SET claimed_until = NULL, last_error = $3,
                         next_try_at = clock_timestamp() + make_interval(secs => $4)
 WHERE id = $1 AND claimed_by = $2
