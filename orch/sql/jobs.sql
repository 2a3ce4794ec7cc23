-- Starting and stopping jobs (orch/db/jobs.py), shared by the gateway and the
-- runbook servers' invoke_runbook launcher.

-- name: runbook_by_id
-- $1 runbook id
SELECT id::text AS id, folder_id::text AS folder_id, name, path, current_version,
       is_monitor, max_concurrent_jobs, disabled_at IS NOT NULL AS disabled
  FROM runbooks WHERE id = $1

-- name: runbook_by_path
-- $1 runbook path ('/Folder/Name')
SELECT id::text AS id, folder_id::text AS folder_id, name, path, current_version,
       is_monitor, max_concurrent_jobs, disabled_at IS NOT NULL AS disabled
  FROM runbooks WHERE path = $1

-- name: runbook_document
-- $1 runbook id, $2 version; the document as JSON text (compiled once, cached)
SELECT document::text FROM runbook_versions WHERE runbook_id = $1 AND version = $2

-- name: insert_job
-- $1 job id, $2 runbook id, $3 runbook version, $4 parameters, $5 is_monitor,
-- $6 target server, $7 created_by (user id), $8 parent job id, $9 parent instance id,
-- $10 priority, $11 gate_until (a scheduled runbook: its window's end, null when
-- closed), $12 waiting reason (the closed schedule's)
-- One statement: the job and its 'queued' event commit together. A child job
-- without a creator inherits its parent's (whoever started the parent started
-- the child).
-- The push (issue 21, pickup): when a runbook server sits idle (no instance,
-- 'up', its heartbeat's push_until ahead: its listener listens) and the job
-- could go nowhere else first — the lean claim's case (claim_jobs_fast: no
-- assignment, no limited runbook) with nothing queued ahead of it, runnable
-- now, parameters (and names) small enough for a notification — the job is inserted
-- claimed by that server, with its instance row, and orch_push tells the
-- server what to start: no claim's round trip. Idle is read twice: its row's
-- running count, which the push raises (a row another start holds is skipped;
-- one another start changed since this statement's snapshot is re-read as it
-- is locked, so the raised count is seen) — and no
-- running instance of its own, which no late heartbeat (whose count may have
-- been read before a claim) can hide. One idle server takes one pushed job at
-- a time; its claim events are the instance's first group commit's, as for a
-- lean claim. Otherwise the job is queued and the
-- insert trigger NOTIFYs orch_jobs on commit.
WITH push AS (
    SELECT s.name
      FROM servers s, runbooks r, runbook_versions v
     WHERE r.id = $2 AND v.runbook_id = $2 AND v.version = $3
       AND s.push_until > clock_timestamp()
       AND s.status = 'up' AND s.running = 0
       AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.server = s.name AND i.status = 'running')
       AND ($6::text IS NULL OR s.name = $6::text)
       AND r.disabled_at IS NULL
       AND (v.schedule_name IS NULL OR $11::timestamptz > orch_now())
       AND (v.activity_types IS NULL OR v.activity_types <@ s.activity_types)
       -- what the notification carries fits its 8,000 bytes with room to spare
       AND octet_length($4::jsonb::text) + octet_length(r.path) + octet_length(r.name)
           + octet_length(s.name) <= 6000
       -- (tied to the server's row so they are read only when one is idle: a
       -- start that finds none — any start under load — pays for one scan of
       -- the servers' rows, not for four more reads)
       AND NOT EXISTS (SELECT 1 FROM folder_servers WHERE s.name IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM runbook_servers WHERE s.name IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM runbooks l
                        WHERE l.max_concurrent_jobs > 0 AND s.name IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM jobs q WHERE q.status = 'queued' AND s.name IS NOT NULL)
     ORDER BY random()
     LIMIT 1
       FOR UPDATE OF s SKIP LOCKED
),
job AS (
    INSERT INTO jobs (id, runbook_id, runbook_version, status, parameters, is_monitor,
                      target_server, created_by, parent_job_id, parent_instance_id,
                      priority, gate_until, waiting_reason,
                      claimed_by, started_at, instance_id)
    SELECT $1, $2, $3, CASE WHEN p.name IS NULL THEN 'queued' ELSE 'running' END, $4, $5, $6,
           coalesce($7::uuid, (SELECT pj.created_by FROM jobs pj WHERE pj.id = $8::uuid)),
           $8, $9, $10, $11, CASE WHEN p.name IS NULL THEN $12 END,
           p.name, CASE WHEN p.name IS NOT NULL THEN clock_timestamp() END,
           CASE WHEN p.name IS NOT NULL THEN gen_random_uuid() END
      FROM (VALUES (1)) AS one (x) LEFT JOIN push p ON true
    RETURNING *
),
pushed_instance AS (
    INSERT INTO instances (id, job_id, server, epoch, status, started_at)
    SELECT job.instance_id, job.id, job.claimed_by, 1, 'running', job.started_at
      FROM job WHERE job.claimed_by IS NOT NULL
),
counted AS (
    UPDATE servers s SET running = s.running + 1 FROM push p WHERE s.name = p.name
),
ev AS (
    INSERT INTO events (kind, at, runbook_id, job_id, status, data)
    SELECT 'job', job.created_at, job.runbook_id, job.id, 'queued',
           jsonb_build_object('created_by', job.created_by::text,
                              'parent_job_id', job.parent_job_id::text,
                              'target_server', job.target_server)
           -- a pushed job's: the server it was handed to (never in the queue)
           || CASE WHEN job.claimed_by IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('pushed_to', job.claimed_by) END
      FROM job
)
SELECT job.id::text AS id, job.runbook_id::text AS runbook_id, r.path AS runbook_path,
       job.runbook_version, job.status, job.parameters, job.returned_data, job.created_at,
       job.started_at, job.ended_at, job.claimed_by AS server, job.instance_id::text AS instance_id,
       CASE WHEN job.instance_id IS NULL THEN ARRAY[]::text[]
            ELSE ARRAY[job.instance_id::text] END AS instance_ids,
       job.waiting_reason, job.stop_requested_at,
       job.target_server, job.parent_job_id::text AS parent_job_id, job.priority,
       job.retries,
       CASE WHEN job.claimed_by IS NOT NULL THEN
           pg_notify('orch_push', json_build_object(
               'server', job.claimed_by, 'job_id', job.id, 'instance_id', job.instance_id,
               'runbook_id', job.runbook_id, 'runbook_version', job.runbook_version,
               'runbook_path', r.path, 'runbook_name', r.name,
               'parameters', job.parameters, 'created_by', job.created_by)::text)
       END AS pushed
  FROM job JOIN runbooks r ON r.id = job.runbook_id

-- name: job_row
-- $1 job id
SELECT j.id::text AS id, j.runbook_id::text AS runbook_id, r.path AS runbook_path,
       j.runbook_version, j.status, j.parameters, j.returned_data, j.created_at,
       j.started_at, j.ended_at, j.claimed_by AS server, j.instance_id::text AS instance_id,
       ARRAY(SELECT i.id::text FROM instances i
              WHERE i.job_id = j.id ORDER BY i.started_at, i.id) AS instance_ids,
       j.waiting_reason, j.stop_requested_at, j.target_server,
       j.parent_job_id::text AS parent_job_id, j.priority, j.retries
  FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
 WHERE j.id = $1

-- name: request_stop
-- $1 job id. A queued job is stopped at once (no server owns it); a running
-- one gets stop_requested_at (its trigger NOTIFYs orch_stops) and its server
-- stops it. Repeating the request keeps the first time and adds no event.
-- Returns nothing when the job is unknown or already finished.
WITH target AS (
    SELECT id, status, stop_requested_at FROM jobs
     WHERE id = $1 AND status IN ('queued', 'running')
     FOR UPDATE
),
upd AS (
    UPDATE jobs j
       SET stop_requested_at = coalesce(j.stop_requested_at, clock_timestamp()),
           status = CASE WHEN t.status = 'queued' THEN 'stopped' ELSE j.status END,
           ended_at = CASE WHEN t.status = 'queued' THEN clock_timestamp() ELSE j.ended_at END,
           waiting_reason = CASE WHEN t.status = 'queued' THEN NULL ELSE j.waiting_reason END
      FROM target t
     WHERE j.id = t.id
    RETURNING j.id, j.runbook_id, j.status, t.status AS old_status,
              t.stop_requested_at IS NULL AS first_request, j.stop_requested_at
),
ev AS (
    INSERT INTO events (kind, at, runbook_id, job_id, status, data)
    SELECT 'job', u.stop_requested_at, u.runbook_id, u.id, u.status,
           jsonb_build_object('stop_requested', true)
      FROM upd u
     WHERE u.first_request
)
SELECT id::text FROM upd

-- name: job_exists
-- $1 job id
SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)

-- name: jobs_final_status
-- $1 job ids; the ones that ended, with their status and returned data
SELECT id::text AS id, status, coalesce(returned_data, '{}'::jsonb) AS returned_data
  FROM jobs
 WHERE id = ANY($1::uuid[]) AND status NOT IN ('queued', 'running')
