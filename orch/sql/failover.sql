-- Failover operations (orch/db/assignment.py, orch/db/servers.py, orch/db/resume.py):
-- runbook server assignment, drain and maintenance, resuming a failed instance.

-- name: assignment_lock_runbook
-- $1 runbook id; serialises concurrent changes of its assignment
SELECT id::text AS id, path FROM runbooks WHERE id = $1 FOR UPDATE

-- name: assignment_lock_folder
-- $1 folder path; serialises concurrent changes of its assignment
SELECT id FROM folders WHERE path = $1 FOR UPDATE

-- name: assignment_folder_id
-- $1 folder path
SELECT id FROM folders WHERE path = $1

-- name: assignment_folder_path
-- $1 folder id
SELECT path FROM folders WHERE id = $1

-- name: assignment_runbook_path
-- $1 runbook id
SELECT path FROM runbooks WHERE id = $1

-- name: assignment_unknown_servers
-- $1 server names; those not registered (never started nor deployed)
SELECT n.name FROM unnest($1::text[]) WITH ORDINALITY AS n(name, ord)
 WHERE NOT EXISTS (SELECT 1 FROM servers s WHERE s.name = n.name)
 ORDER BY n.ord

-- name: assignment_clear_runbook
-- $1 runbook id
DELETE FROM runbook_servers WHERE runbook_id = $1

-- name: assignment_set_runbook
-- $1 runbook id, $2 server names, primary first
INSERT INTO runbook_servers (runbook_id, position, server_name)
SELECT $1, n.ord - 1, n.name FROM unnest($2::text[]) WITH ORDINALITY AS n(name, ord)

-- name: assignment_clear_folder
-- $1 folder id
DELETE FROM folder_servers WHERE folder_id = $1

-- name: assignment_set_folder
-- $1 folder id, $2 server names, primary first
INSERT INTO folder_servers (folder_id, position, server_name)
SELECT $1, n.ord - 1, n.name FROM unnest($2::text[]) WITH ORDINALITY AS n(name, ord)

-- name: assignment_audit
-- $1 actor (user name or null), $2 action, $3 target path, $4 data
INSERT INTO audit (actor, action, target, data) VALUES ($1, $2, $3, $4)

-- name: assignment_of_runbook
-- $1 runbook id; the assignment in force, primary first, and where it comes from
SELECT server_name, source FROM runbook_assignment WHERE runbook_id = $1 ORDER BY position

-- name: assignment_own_runbook
-- $1 runbook id; its own list, primary first
SELECT server_name FROM runbook_servers WHERE runbook_id = $1 ORDER BY position

-- name: assignment_of_folder
-- $1 folder path; the lists of the folder and of every folder above it, nearest first
SELECT f.path, fs.server_name
  FROM folders f
  JOIN folder_servers fs ON fs.folder_id = f.id
 WHERE f.path = '/' OR f.path = $1 OR starts_with($1, f.path || '/')
 ORDER BY length(f.path) DESC, fs.position

-- name: server_lock
-- $1 server name
SELECT status, maintenance FROM servers WHERE name = $1 FOR UPDATE

-- name: server_operator_update
-- $1 server name, $2 new status, $3 new maintenance flag, $4 who asked (user
-- name), $5 what ('drain', 'maintenance on', 'maintenance off'). The event, the
-- audit entry and the NOTIFY (orch_servers, payload: the name) go with it; the
-- NOTIFY reaches the server at once, its heartbeat would find the row anyway.
WITH s AS (
    UPDATE servers SET status = $2, maintenance = $3 WHERE name = $1 RETURNING name
),
ev AS (
    INSERT INTO events (kind, status, server, data)
    SELECT 'server', $2, name,
           jsonb_build_object('requested_by', $4::text, 'action', $5::text,
                              'maintenance', $3::boolean)
      FROM s
),
au AS (
    INSERT INTO audit (actor, action, target, data)
    SELECT $4, 'server ' || $5, name, NULL FROM s
)
SELECT pg_notify('orch_servers', name)::text FROM s

-- name: instance_takeovers
-- $1 instance id; every change of owner after it started, oldest first
SELECT at, data->>'taken_over_from' AS from_server, server AS to_server,
       (data->>'epoch')::int AS epoch, coalesce(data->>'reason', 'down') AS reason
  FROM events
 WHERE job_id = (SELECT i.job_id FROM instances i WHERE i.id = $1)  -- its index (0019)
   AND instance_id = $1 AND kind = 'instance' AND data ? 'taken_over_from'
 ORDER BY seq

-- name: instance_job_path
-- $1 instance id; its job and the runbook path (for authorization)
SELECT j.id::text AS job_id, r.path
  FROM instances i JOIN jobs j ON j.id = i.job_id JOIN runbooks r ON r.id = j.runbook_id
 WHERE i.id = $1

-- name: resume_target
-- $1 instance id; the instance and its job, locked for the resume
SELECT i.id::text AS instance_id, i.status, i.server, i.epoch, i.error,
       j.id::text AS job_id, j.status AS job_status, j.instance_id::text AS latest,
       j.runbook_id::text AS runbook_id, j.runbook_version, r.path AS runbook_path
  FROM instances i
  JOIN jobs j ON j.id = i.job_id
  JOIN runbooks r ON r.id = j.runbook_id
 WHERE i.id = $1
   FOR UPDATE OF i, j

-- name: resume_runs
-- $1 instance id; its runs in force (not superseded by an earlier resume)
SELECT run_id::text AS run_id, activity, parent_run::text AS parent_run, item, attempt,
       status, lineage
  FROM activity_runs
 WHERE instance_id = $1 AND superseded_at IS NULL
 ORDER BY seq

-- name: resume_instance
-- $1 instance id, $2 run ids to re-run (superseded), $3 who asked, $4 the
-- instance's last owner. The instance goes back to running with no owner (the
-- server that takes it over bumps the epoch, as any takeover does); the job
-- back to running; any eligible server takes it over (NOTIFY orch_instances)
-- and resumes it from the runs still in force.
WITH sup AS (
    UPDATE activity_runs SET superseded_at = clock_timestamp()
     WHERE instance_id = $1 AND run_id = ANY($2::uuid[]) AND superseded_at IS NULL
    RETURNING run_id
),
inst AS (
    UPDATE instances
       SET status = 'running', server = NULL, ended_at = NULL,
           error = NULL, returned_data = NULL
     WHERE id = $1 AND status = 'failed'
    RETURNING id, job_id, epoch
),
job AS (
    UPDATE jobs j
       SET status = 'running', ended_at = NULL, returned_data = NULL, claimed_by = NULL,
           stop_requested_at = NULL
      FROM inst
     WHERE j.id = inst.job_id
    RETURNING j.id, j.runbook_id
),
ev AS (
    INSERT INTO events (kind, runbook_id, job_id, instance_id, status, data)
    SELECT e.kind, job.runbook_id, job.id, e.instance_id, 'running', e.data
      FROM job, inst,
           LATERAL (VALUES
               ('instance', inst.id,
                jsonb_build_object('resumed_by', $3::text, 'resumed_from', $4::text,
                                   'rerun', (SELECT count(*) FROM sup))),
               ('job', NULL::uuid, jsonb_build_object('resumed_by', $3::text))) AS e(kind, instance_id, data)
)
SELECT (SELECT count(*) FROM sup) AS superseded,
       pg_notify('orch_instances', '')::text AS notified
  FROM inst
