-- Retention (orch/db/purge.py, `orch purge`, the servers' automatic purge).
-- Finished jobs go with everything under them (instances, the instance log,
-- idempotency keys, approvals, notifications: ON DELETE CASCADE; activity runs
-- with their instances: the instances_delete_runs trigger)
-- and their events; running and queued jobs are never touched. Work is done in
-- batches, each its own short transaction, so live traffic is not blocked.

-- name: purge_try_lock
-- no parameters; one purge at a time across every server and CLI (session lock)
SELECT pg_try_advisory_lock(7307114212025110011);

-- name: purge_unlock
-- no parameters
SELECT pg_advisory_unlock(7307114212025110011);

-- name: purge_pick_jobs
-- $1: cutoff, $2: batch size; finished jobs that ended before the cutoff, oldest first
SELECT coalesce(array_agg(id), '{}'::uuid[]) FROM (
    SELECT id FROM jobs
     WHERE ended_at < $1 AND status IN ('success', 'warning', 'failed', 'stopped')
     ORDER BY ended_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED) j;

-- name: purge_unlink_children
-- $1: job ids being purged; a kept child (still running, or recent) loses its parent link
UPDATE jobs SET parent_job_id = NULL
 WHERE parent_job_id = ANY ($1::uuid[]) AND NOT id = ANY ($1::uuid[]);

-- name: purge_job_events
-- $1: job ids being purged
DELETE FROM events WHERE job_id = ANY ($1::uuid[]);

-- name: purge_job_log
-- $1: job ids being purged (the cascade would take the lines too; this counts them)
DELETE FROM instance_log l USING instances i
 WHERE l.instance_id = i.id AND i.job_id = ANY ($1::uuid[]);

-- name: purge_jobs
-- $1: job ids being purged
DELETE FROM jobs WHERE id = ANY ($1::uuid[]);

-- name: purge_events
-- $1: cutoff, $2: batch size; old events not about a kept job (server, runbook events,
-- and those of jobs already gone)
DELETE FROM events WHERE seq IN (
    SELECT e.seq FROM events e
     WHERE e.at < $1
       AND (e.job_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = e.job_id))
     LIMIT $2);

-- name: purge_instance_log
-- $1: cutoff, $2: batch size; old lines of ended instances of kept jobs (a monitor's
-- fired instances); a running instance keeps its whole log
DELETE FROM instance_log WHERE id IN (
    SELECT l.id FROM instance_log l JOIN instances i ON i.id = l.instance_id
     WHERE l.at < $1 AND i.status <> 'running'
     LIMIT $2);

-- name: purge_audit
-- $1: cutoff, $2: batch size
DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY id LIMIT $2);

-- name: purge_count
-- $1: cutoff, $2: audit cutoff or null; what a purge would remove (dry run)
WITH j AS (
    SELECT id FROM jobs
     WHERE ended_at < $1 AND status IN ('success', 'warning', 'failed', 'stopped')
)
SELECT (SELECT count(*) FROM j)::bigint AS jobs,
       ((SELECT count(*) FROM events e WHERE e.job_id IN (SELECT id FROM j))
        + (SELECT count(*) FROM events e
            WHERE e.at < $1
              AND (e.job_id IS NULL
                   OR NOT EXISTS (SELECT 1 FROM jobs x WHERE x.id = e.job_id))))::bigint
           AS events,
       (SELECT count(*) FROM instance_log l JOIN instances i ON i.id = l.instance_id
         WHERE i.job_id IN (SELECT id FROM j)
            OR (l.at < $1 AND i.status <> 'running'))::bigint AS instance_log,
       (SELECT count(*) FROM audit WHERE $2::timestamptz IS NOT NULL AND at < $2)::bigint
           AS audit;
