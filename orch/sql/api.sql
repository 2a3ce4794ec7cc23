-- Queries of the web service's management and operations routes and of the
-- live feed (orch/gateway/*, orch/gateway/live/*). Reads return columns named
-- and typed as the API's response Structs (ids as text).

-- ---- folders ------------------------------------------------------------------------

-- name: api_folders_page
-- $1: folder path or null (all); that folder and every folder below it,
-- $2: path of the previous page's last folder or null (first page), $3: page size,
-- $4: the caller's visible subtrees (text[]; null: everything, admins). A folder is
-- visible when it is in one of them or leads to one; counts include only visible things.
SELECT f.id::text AS id,
       f.path,
       f.name,
       p.path AS parent,
       f.created_at,
       (SELECT count(*) FROM folders c
         WHERE c.parent_id = f.id
           AND ($4::text[] IS NULL
                OR EXISTS (SELECT 1 FROM unnest($4::text[]) v(p)
                            WHERE v.p = '/' OR c.path = v.p OR starts_with(c.path, v.p || '/')
                               OR starts_with(v.p, c.path || '/'))))::int AS folder_count,
       (SELECT count(*) FROM runbooks r
         WHERE r.folder_id = f.id
           AND ($4::text[] IS NULL
                OR EXISTS (SELECT 1 FROM unnest($4::text[]) v(p)
                            WHERE v.p = '/' OR r.path = v.p
                               OR starts_with(r.path, v.p || '/'))))::int AS runbook_count
  FROM folders f
  LEFT JOIN folders p ON p.id = f.parent_id
 WHERE ($1::text IS NULL OR $1::text = '/' OR f.path = $1::text
        OR starts_with(f.path, $1::text || '/'))
   AND ($2::text IS NULL OR f.path > $2::text)
   AND ($4::text[] IS NULL OR f.path = '/'
        OR EXISTS (SELECT 1 FROM unnest($4::text[]) v(p)
                    WHERE v.p = '/' OR f.path = v.p OR starts_with(f.path, v.p || '/')
                       OR starts_with(v.p, f.path || '/')))
 ORDER BY f.path
 LIMIT $3;

-- name: api_folder
-- $1: folder id
SELECT f.id::text AS id,
       f.path,
       f.name,
       p.path AS parent,
       f.created_at,
       (SELECT count(*) FROM folders c WHERE c.parent_id = f.id)::int AS folder_count,
       (SELECT count(*) FROM runbooks r WHERE r.folder_id = f.id)::int AS runbook_count
  FROM folders f
  LEFT JOIN folders p ON p.id = f.parent_id
 WHERE f.id = $1;

-- name: api_folder_by_path
-- $1: folder path
SELECT id, path FROM folders WHERE path = $1;

-- name: api_folder_insert
-- $1: new folder id, $2: path, $3: parent folder id, $4: name. Nothing when the path is taken.
INSERT INTO folders (id, path, parent_id, name)
VALUES ($1, $2, $3, $4)
ON CONFLICT (path) DO NOTHING
RETURNING id::text;

-- name: api_folder_lock
-- $1: folder id; the folder, locked for a rename, move or delete
SELECT id, path, name, parent_id FROM folders WHERE id = $1 FOR UPDATE;

-- name: api_folder_lock_subtree
-- $1: folder path; every folder below it and every runbook in them, locked
-- (so a check-in into the subtree waits for the move, or the move for it)
WITH f AS (
    SELECT id FROM folders WHERE starts_with(path, $1::text || '/') FOR UPDATE
),
r AS (
    SELECT r.id FROM runbooks r JOIN folders x ON x.id = r.folder_id
     WHERE x.path = $1::text OR starts_with(x.path, $1::text || '/')
       FOR UPDATE OF r
)
SELECT (SELECT count(*) FROM f) AS folders, (SELECT count(*) FROM r) AS runbooks;

-- name: api_folder_move_below
-- $1: the moved folder's old path, $2: its new path. The folders below it take
-- their new paths (their parent and name do not change, so the path trigger
-- does not run); then the folder itself (api_folder_set, checked by the
-- trigger), then the runbooks' paths (api_folder_runbook_paths).
WITH below AS (
    UPDATE folders
       SET path = $2::text || substr(path, length($1::text) + 1)
     WHERE starts_with(path, $1::text || '/')
    RETURNING id
)
SELECT count(*) FROM below;

-- name: api_folder_set
-- $1: folder id, $2: new path, $3: new parent id, $4: new name
UPDATE folders SET path = $2, parent_id = $3, name = $4 WHERE id = $1;

-- name: api_folder_runbook_paths
-- $1: folder path; runbooks in it or below take their folder's path
UPDATE runbooks r
   SET path = f.path || '/' || r.name, updated_at = now()
  FROM folders f
 WHERE f.id = r.folder_id
   AND (f.path = $1::text OR starts_with(f.path, $1::text || '/'));

-- name: api_folder_delete
-- $1: folder id; deleted only when it is not the root and holds nothing
DELETE FROM folders f
 WHERE f.id = $1
   AND f.parent_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM folders c WHERE c.parent_id = f.id)
   AND NOT EXISTS (SELECT 1 FROM runbooks r WHERE r.folder_id = f.id)
RETURNING f.id;

-- ---- runbooks: check-out, summary ---------------------------------

-- name: api_runbook_summary
-- $1: runbook id
SELECT r.id::text AS id,
       r.path,
       f.path AS folder,
       r.name,
       r.current_version,
       r.is_monitor,
       r.max_concurrent_jobs,
       u.name AS checked_out_by,
       r.checked_out_at,
       r.created_at,
       r.updated_at
  FROM runbooks r
  JOIN folders f ON f.id = r.folder_id
  LEFT JOIN users u ON u.id = r.checked_out_by
 WHERE r.id = $1;

-- name: api_runbook_lock
-- $1: runbook id; its path and who has it checked out (id and name), locked.
-- The holder's name is a sub-select, not a join: after waiting for the lock the
-- select list is evaluated again on the row as committed, a joined row is not.
SELECT r.path, r.checked_out_by::text AS holder_id,
       (SELECT u.name FROM users u WHERE u.id = r.checked_out_by) AS holder
  FROM runbooks r
 WHERE r.id = $1
   FOR UPDATE;

-- name: api_runbook_check_out
-- $1: runbook id, $2: user id. Keeps the time of the first check-out when repeated.
UPDATE runbooks
   SET checked_out_by = $2::uuid,
       checked_out_at = CASE WHEN checked_out_by = $2::uuid THEN checked_out_at ELSE now() END
 WHERE id = $1;

-- name: api_runbook_undo_check_out
-- $1: runbook id
UPDATE runbooks SET checked_out_by = NULL, checked_out_at = NULL WHERE id = $1;

-- ---- jobs -----------------------------------------------------------------------------

-- name: api_jobs_filtered
-- $1: runbook id or null, $2: status or null, $3: server (claimed by) or null,
-- $4: created at or after (or null), $5: created before (or null),
-- $6: created_at of the previous page's last job or null (first page), $7: its id, $8: page size,
-- $9: the caller's visible subtrees (text[]; null: everything, admins)
SELECT j.id::text AS id,
       j.runbook_id::text AS runbook_id,
       r.path AS runbook_path,
       j.runbook_version,
       j.status,
       j.parameters,
       j.returned_data,
       j.created_at,
       j.started_at,
       j.ended_at,
       j.claimed_by AS server,
       j.instance_id::text AS instance_id,
       ARRAY(SELECT i.id::text FROM instances i
              WHERE i.job_id = j.id ORDER BY i.started_at, i.id) AS instance_ids,
       j.waiting_reason,
       j.stop_requested_at,
       j.target_server,
       u.name AS created_by,
       j.parent_job_id::text AS parent_job_id,
       j.priority,
       j.retries
  FROM jobs j
  JOIN runbooks r ON r.id = j.runbook_id
  LEFT JOIN users u ON u.id = j.created_by
 WHERE ($1::uuid IS NULL OR j.runbook_id = $1::uuid)
   AND ($2::text IS NULL OR j.status = $2::text)
   AND ($3::text IS NULL OR j.claimed_by = $3::text)
   AND ($4::timestamptz IS NULL OR j.created_at >= $4::timestamptz)
   AND ($5::timestamptz IS NULL OR j.created_at < $5::timestamptz)
   AND ($6::timestamptz IS NULL OR (j.created_at, j.id) < ($6::timestamptz, $7::uuid))
   AND ($9::text[] IS NULL
        OR EXISTS (SELECT 1 FROM unnest($9::text[]) v(p)
                    WHERE v.p = '/' OR r.path = v.p OR starts_with(r.path, v.p || '/')))
 ORDER BY j.created_at DESC, j.id DESC
 LIMIT $8;

-- name: api_job_origin
-- $1: job id; what a re-run repeats
SELECT j.runbook_id::text AS runbook_id, j.runbook_version, j.parameters, j.target_server,
       r.path
  FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
 WHERE j.id = $1;

-- name: api_idempotency_claim
-- $1: user id, $2: key, $3: sha256 of the request. A row when the key is new
-- (this start goes on); nothing when it was used (waits for a start in flight).
INSERT INTO job_idempotency_keys (user_id, key, request_hash)
VALUES ($1::uuid, $2, $3)
ON CONFLICT (user_id, key) DO NOTHING
RETURNING true;

-- name: api_idempotency_get
-- $1: user id, $2: key
SELECT request_hash, job_id::text AS job_id
  FROM job_idempotency_keys
 WHERE user_id = $1::uuid AND key = $2;

-- name: api_idempotency_set_job
-- $1: user id, $2: key, $3: job id
UPDATE job_idempotency_keys SET job_id = $3::uuid WHERE user_id = $1::uuid AND key = $2;

-- ---- instances ------------------------------------------------------------------------

-- name: api_instance_children
-- $1: the instance's job id, $2: instance id; jobs its invoke_runbook runs started
SELECT j.id::text AS id,
       j.runbook_id::text AS runbook_id,
       r.path AS runbook_path,
       j.status,
       j.created_at,
       j.ended_at
  FROM jobs j
  JOIN runbooks r ON r.id = j.runbook_id
 WHERE j.parent_job_id = $1::uuid AND j.parent_instance_id = $2::uuid
 ORDER BY j.created_at, j.id;

-- name: api_instance_state
-- $1: instance id, $2: seconds after its end that log lines may still arrive
-- (each server writes them in batches). Whether its log may still grow, and
-- the path of its runbook (no row: no such instance).
SELECT (i.status = 'running'
        OR i.ended_at > clock_timestamp() - make_interval(secs => $2)) AS live,
       r.path
  FROM instances i
  JOIN jobs j ON j.id = i.job_id
  JOIN runbooks r ON r.id = j.runbook_id
 WHERE i.id = $1;

-- name: api_instance_log_page
-- $1: instance id, $2: id of the previous page's last line (0: from the start),
-- $3: stream or null (all), $4: activity or null (all), $5: run id or null (all), $6: page size
SELECT l.id,
       l.at,
       l.activity,
       l.run_id::text AS run_id,
       l.stream,
       l.text
  FROM instance_log l
 WHERE l.instance_id = $1
   AND l.id > $2
   AND ($3::text IS NULL OR l.stream = $3::text)
   AND ($4::text IS NULL OR l.activity = $4::text)
   AND ($5::uuid IS NULL OR l.run_id = $5::uuid)
 ORDER BY l.id
 LIMIT $6;

-- ---- servers, packs, events ------------------------------------------------------------

-- name: api_servers_page
-- $1: name of the previous page's last server or null (first page), $2: page size,
-- $3: heartbeat timeout (seconds): older means unavailable
SELECT s.name,
       s.status,
       s.host,
       s.pid,
       s.capacity,
       (SELECT count(*) FROM instances i
         WHERE i.server = s.name AND i.status = 'running')::int AS running,
       ARRAY(SELECT jsonb_array_elements_text(s.packs)) AS packs,
       s.started_at,
       s.heartbeat_at,
       extract(epoch FROM clock_timestamp() - s.heartbeat_at)::float8 AS heartbeat_age_seconds,
       (s.status = 'up' AND s.heartbeat_at > now() - make_interval(secs => $3)
        AND s.running < s.capacity) AS available,
       coalesce(s.push_until > clock_timestamp(), false) AS accepts_pushes
  FROM servers s
 WHERE ($1::text IS NULL OR s.name > $1::text)
 ORDER BY s.name
 LIMIT $2;

-- name: api_server
-- $1: server name, $2: heartbeat timeout (seconds)
SELECT s.name,
       s.status,
       s.host,
       s.pid,
       s.capacity,
       (SELECT count(*) FROM instances i
         WHERE i.server = s.name AND i.status = 'running')::int AS running,
       ARRAY(SELECT jsonb_array_elements_text(s.packs)) AS packs,
       s.started_at,
       s.heartbeat_at,
       extract(epoch FROM clock_timestamp() - s.heartbeat_at)::float8 AS heartbeat_age_seconds,
       (s.status = 'up' AND s.heartbeat_at > now() - make_interval(secs => $2)
        AND s.running < s.capacity) AS available,
       coalesce(s.push_until > clock_timestamp(), false) AS accepts_pushes
  FROM servers s
 WHERE s.name = $1;

-- name: api_server_packs
-- no parameters; which server reports which packs
SELECT s.name, p.pack
  FROM servers s
 CROSS JOIN LATERAL jsonb_array_elements_text(s.packs) AS p(pack)
 ORDER BY p.pack, s.name;

-- name: api_events_page
-- $1: kind or null, $2: runbook id or null, $3: job id or null, $4: instance id or null,
-- $5: server or null, $6: at or after (or null), $7: before (or null),
-- $8: seq of the previous page's last event or null (first page), $9: page size,
-- $10: the caller's visible subtrees (text[]; null: everything, admins): only events of
-- visible runbooks then (no server events). Newest first.
SELECT e.seq,
       e.kind,
       e.at,
       e.runbook_id::text AS runbook_id,
       e.job_id::text AS job_id,
       e.instance_id::text AS instance_id,
       e.activity,
       e.run_id::text AS run_id,
       e.status,
       e.server,
       e.data,
       NULL::text AS actor,
       NULL::text AS action,
       NULL::text AS target
  FROM events e
 WHERE ($1::text IS NULL OR e.kind = $1::text)
   AND ($2::uuid IS NULL OR e.runbook_id = $2::uuid)
   AND ($3::uuid IS NULL OR e.job_id = $3::uuid)
   AND ($4::uuid IS NULL OR (e.instance_id = $4::uuid
                             AND e.job_id = (SELECT i.job_id FROM instances i
                                              WHERE i.id = $4::uuid)))
   AND ($5::text IS NULL OR e.server = $5::text)
   AND ($6::timestamptz IS NULL OR e.at >= $6::timestamptz)
   AND ($7::timestamptz IS NULL OR e.at < $7::timestamptz)
   AND ($8::bigint IS NULL OR e.seq < $8::bigint)
   AND ($10::text[] IS NULL
        OR EXISTS (SELECT 1 FROM runbooks r, unnest($10::text[]) v(p)
                    WHERE r.id = e.runbook_id
                      AND (v.p = '/' OR r.path = v.p OR starts_with(r.path, v.p || '/'))))
 ORDER BY e.seq DESC
 LIMIT $9;

-- name: api_audit_page
-- $1: at or after (or null), $2: before (or null), $3: id of the previous page's last
-- entry or null (first page), $4: page size. Newest first, in the events' shape.
SELECT a.id AS seq,
       'audit'::text AS kind,
       a.at,
       NULL::text AS runbook_id,
       NULL::text AS job_id,
       NULL::text AS instance_id,
       NULL::text AS activity,
       NULL::text AS run_id,
       NULL::text AS status,
       NULL::text AS server,
       a.data,
       a.actor,
       a.action,
       a.target
  FROM audit a
 WHERE ($1::timestamptz IS NULL OR a.at >= $1::timestamptz)
   AND ($2::timestamptz IS NULL OR a.at < $2::timestamptz)
   AND ($3::bigint IS NULL OR a.id < $3::bigint)
 ORDER BY a.id DESC
 LIMIT $4;

-- ---- the live feed -------------------------------------------------------------------
-- events.seq is taken before commit, so rows become visible out of seq order.
-- The reader delivers in seq order, and passes a missing seq only once no
-- transaction that may still insert it is running. Those are the holders of a
-- RowExclusiveLock on events: an INSERT takes it before its identity default
-- runs (and keeps it to the end of its transaction), so a transaction holding a
-- seq holds the lock, with or without a transaction id yet.

-- name: api_live_start
-- no parameters; the highest seq visible now and the transactions that may
-- still insert events below it
SELECT coalesce((SELECT max(seq) FROM events), 0) AS seq,
       ARRAY(SELECT l.virtualtransaction
               FROM pg_locks l
              WHERE l.locktype = 'relation'
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.relation = 'events'::regclass
                AND l.mode = 'RowExclusiveLock'
                AND l.pid IS DISTINCT FROM pg_backend_pid()) AS holders;

-- name: api_live_poll
-- $1: read events after this seq (the highest read so far), $2/$3: lower and upper
-- ends of the ranges still missing below it, $4: most new events to read.
-- One statement: the rows come from its snapshot, the lock holders from the
-- lock table read after that snapshot was taken (so a holder absent here had
-- ended, and anything it committed is in the next poll's snapshot).
WITH holders AS (
    SELECT ARRAY(SELECT l.virtualtransaction
                   FROM pg_locks l
                  WHERE l.locktype = 'relation'
                    AND l.database = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())
                    AND l.relation = 'events'::regclass
                    AND l.mode = 'RowExclusiveLock'
                    AND l.pid IS DISTINCT FROM pg_backend_pid()) AS holders
),
found AS (
    (SELECT e.* FROM unnest($2::bigint[], $3::bigint[]) AS g(lo, hi)
       JOIN events e ON e.seq BETWEEN g.lo AND g.hi)
    UNION ALL
    (SELECT e.* FROM events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $4)
)
SELECT h.holders,
       f.seq,
       f.kind,
       f.at,
       f.runbook_id::text AS runbook_id,
       f.job_id::text AS job_id,
       f.instance_id::text AS instance_id,
       f.activity,
       f.run_id::text AS run_id,
       f.status,
       f.server,
       f.data ->> 'error' AS error
  FROM holders h
  LEFT JOIN found f ON true
 ORDER BY f.seq;

-- name: api_live_replay
-- $1: after this seq, $2: up to this seq (inclusive), $3: job id or null, $4: runbook id
-- or null, $5: page size, $6: the kinds the feed carries. In seq order.
SELECT e.seq,
       e.kind,
       e.at,
       e.runbook_id::text AS runbook_id,
       e.job_id::text AS job_id,
       e.instance_id::text AS instance_id,
       e.activity,
       e.run_id::text AS run_id,
       e.status,
       e.server,
       e.data ->> 'error' AS error
  FROM events e
 WHERE e.seq > $1 AND e.seq <= $2
   AND e.kind = ANY($6::text[])
   AND ($3::uuid IS NULL OR e.job_id = $3::uuid)
   AND ($4::uuid IS NULL OR e.runbook_id = $4::uuid)
 ORDER BY e.seq
 LIMIT $5;

-- name: api_live_job_runbook
-- $1: job id; its runbook's id and path (null: no such job)
SELECT j.runbook_id::text AS runbook_id, r.path
  FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
 WHERE j.id = $1;

-- ---- the instance log (written by runbook servers, orch/db/instance_log.py) ----------

-- name: api_instance_log_write
-- $1: instance ids, $2: run ids, $3: activities, $4: streams, $5: times, $6: texts.
-- A log line is not worth a WAL flush: the commit does not wait for it. Lines
-- of an instance deleted meanwhile are left out; ids follow the order given.
WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO instance_log (instance_id, run_id, activity, stream, at, text)
SELECT l.instance_id, l.run_id, l.activity, l.stream, l.at, l.text
  FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
       WITH ORDINALITY AS l(instance_id, run_id, activity, stream, at, text, ord)
 CROSS JOIN lazy
 WHERE EXISTS (SELECT 1 FROM instances i WHERE i.id = l.instance_id)
 ORDER BY l.ord;
