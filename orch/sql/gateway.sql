-- Queries of the gateway (orch/gateway) and the runbook catalog (orch/db/catalog.py).
-- Reads return columns named and typed exactly as the API's response Structs
-- (ids as text), so a row converts to its Struct without hand mapping.

-- name: api_principal_by_token
-- $1: sha256 hex of the presented bearer token; for a directory user its source, whether
-- active, and the age of its membership in seconds (orch/gateway/external.py)
SELECT u.id::text AS user_id,
       u.name,
       EXISTS (SELECT 1
                 FROM group_members m
                 JOIN groups g ON g.id = m.group_id
                WHERE m.user_id = u.id AND g.name = 'admins') AS is_admin,
       t.id::text AS token_id,
       e.source AS directory,
       e.active AS directory_active,
       extract(epoch FROM orch_now() - e.checked_at)::float8 AS directory_age
  FROM tokens t
  JOIN users u ON u.id = t.user_id
  LEFT JOIN external_identities e ON e.user_id = u.id
 WHERE t.token_hash = $1
   AND t.revoked_at IS NULL
   AND (t.expires_at IS NULL OR t.expires_at > now())
   AND NOT u.disabled;

-- name: api_health
-- no parameters
SELECT 1;

-- name: api_ready
-- $1 server timeout (seconds): the first user exists; runbook servers up with a fresh heartbeat
SELECT EXISTS (SELECT 1 FROM users) AS bootstrapped,
       (SELECT count(*) FROM servers
         WHERE status = 'up' AND heartbeat_at > now() - make_interval(secs => $1)) AS servers;

-- name: api_job
-- $1: job id
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
 WHERE j.id = $1;

-- name: api_server_exists
-- $1: runbook server name
SELECT EXISTS (SELECT 1 FROM servers WHERE name = $1);

-- name: api_instance
-- $1: instance id
SELECT i.id::text AS id,
       i.job_id::text AS job_id,
       i.status,
       i.server,
       i.started_at,
       i.ended_at,
       i.returned_data,
       i.error,
       v.store_published_data AS published_data_stored,
       v.store_common_data AS common_data_stored
  FROM instances i
  JOIN jobs j ON j.id = i.job_id
  JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
 WHERE i.id = $1;

-- name: api_activity_runs
-- $1: instance id
SELECT a.run_id::text AS run_id,
       a.activity,
       a.status,
       a.published,
       a.started_at,
       a.ended_at,
       a.error,
       a.parent_run::text AS parent_run,
       a.item,
       a.attempt,
       a.superseded_at
  FROM activity_runs a
 WHERE a.instance_id = $1
 ORDER BY a.seq;

-- name: catalog_ensure_folder
-- $1: new folder id (used only when the folder is missing), $2: folder path, $3: parent folder id
-- (null for '/'), $4: folder name ('' for '/')
WITH inserted AS (
    INSERT INTO folders (id, path, parent_id, name)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (path) DO NOTHING
    RETURNING id
)
SELECT id FROM inserted
UNION ALL
SELECT id FROM folders WHERE path = $2
LIMIT 1;

-- name: catalog_insert_runbook
-- $1: runbook id, $2: folder id, $3: name, $4: path, $5: is_monitor, $6: max_concurrent_jobs
INSERT INTO runbooks (id, folder_id, name, path, current_version, is_monitor, max_concurrent_jobs)
VALUES ($1, $2, $3, $4, 1, $5, $6)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: catalog_insert_version
-- $1: runbook id, $2: version, $3: document (jsonb), $4: sha256 hex, $5: comment, $6: user id,
-- $7: the qualified activity types it uses (capability matching)
INSERT INTO runbook_versions (runbook_id, version, document, hash, comment, created_by,
                              activity_types)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: catalog_lock_runbook
-- $1: runbook id
SELECT r.id, r.path, r.current_version, r.checked_out_by::text AS checked_out_by,
       u.name AS checked_out_by_name
  FROM runbooks r
  LEFT JOIN users u ON u.id = r.checked_out_by
 WHERE r.id = $1
   FOR UPDATE OF r;

-- name: catalog_path_owner
-- $1: runbook path
SELECT id FROM runbooks WHERE path = $1;

-- name: catalog_update_runbook
-- $1: runbook id, $2: new current version, $3: folder id, $4: name, $5: path,
-- $6: is_monitor, $7: max_concurrent_jobs
UPDATE runbooks
   SET current_version = $2,
       folder_id = $3,
       name = $4,
       path = $5,
       is_monitor = $6,
       max_concurrent_jobs = $7,
       checked_out_by = NULL,
       checked_out_at = NULL,
       updated_at = now()
 WHERE id = $1;

-- name: catalog_runbook
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
       r.updated_at,
       v.document
  FROM runbooks r
  JOIN folders f ON f.id = r.folder_id
  JOIN runbook_versions v ON v.runbook_id = r.id AND v.version = r.current_version
  LEFT JOIN users u ON u.id = r.checked_out_by
 WHERE r.id = $1;

-- name: catalog_versions
-- $1: runbook id
SELECT v.version, v.hash, v.comment, u.name AS created_by, v.created_at
  FROM runbook_versions v
  LEFT JOIN users u ON u.id = v.created_by
 WHERE v.runbook_id = $1
 ORDER BY v.version;

-- name: catalog_version
-- $1: runbook id, $2: version
SELECT v.runbook_id::text AS runbook_id,
       r.path,
       v.version,
       v.hash,
       v.comment,
       u.name AS created_by,
       v.created_at,
       v.document
  FROM runbook_versions v
  JOIN runbooks r ON r.id = v.runbook_id
  LEFT JOIN users u ON u.id = v.created_by
 WHERE v.runbook_id = $1 AND v.version = $2;

-- name: catalog_runbooks_page
-- $1: folder path or null (every folder); runbooks in it or below it,
-- $2: path of the previous page's last runbook or null (first page), $3: page size,
-- $4: the caller's visible subtrees (text[]; null: everything, admins)
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
 WHERE ($1::text IS NULL OR $1::text = '/' OR f.path = $1::text
        OR starts_with(f.path, $1::text || '/'))
   AND ($2::text IS NULL OR r.path > $2::text)
   AND ($4::text[] IS NULL
        OR EXISTS (SELECT 1 FROM unnest($4::text[]) v(p)
                    WHERE v.p = '/' OR r.path = v.p OR starts_with(r.path, v.p || '/')))
 ORDER BY r.path
 LIMIT $3;
