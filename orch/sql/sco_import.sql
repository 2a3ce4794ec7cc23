-- The SCO import (orch/gateway/sco_import.py): runbooks it wrote before, and the
-- variables and counters it creates when missing (never overwriting).

-- name: sco_import_known
-- no parameters; every runbook whose current version came from an SCO import, by
-- its policy's UniqueID (document metadata "sco.unique_id")
SELECT r.id, r.path, r.current_version, v.hash, r.disabled_at IS NOT NULL AS disabled,
       v.document->'metadata'->>'sco.unique_id' AS unique_id
  FROM runbooks r
  JOIN runbook_versions v ON v.runbook_id = r.id AND v.version = r.current_version
 WHERE v.document->'metadata' ? 'sco.unique_id'
 ORDER BY r.path

-- name: sco_import_runbook_at
-- $1 path; the runbook at that path with its current hash and disabled state
SELECT r.id, r.path, r.current_version, v.hash, r.disabled_at IS NOT NULL AS disabled
  FROM runbooks r
  JOIN runbook_versions v ON v.runbook_id = r.id AND v.version = r.current_version
 WHERE r.path = $1

-- name: sco_import_variable
-- $1 name, $2 value ('' for an encrypted one without a value yet), $3 encrypted, $4 user id.
-- Creates it when missing; returns the row as it now is and whether it was created.
WITH created AS (
    INSERT INTO variables (name, value, encrypted, updated_by)
    VALUES ($1, $2, $3, $4::uuid)
    ON CONFLICT (name) DO NOTHING
    RETURNING name, value, encrypted
)
SELECT name, value, encrypted, true AS created FROM created
UNION ALL
SELECT name, value, encrypted, false AS created FROM variables
 WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM created)

-- name: sco_import_counter
-- $1 name, $2 default value. Creates it (at its default) when missing; returns whether
-- it was created.
WITH created AS (
    INSERT INTO counters (name, value, default_value) VALUES ($1, $2, $2)
    ON CONFLICT (name) DO NOTHING
    RETURNING name
)
SELECT EXISTS (SELECT 1 FROM created) AS created

-- name: sco_import_schedule_exists
-- $1 name
SELECT EXISTS (SELECT 1 FROM schedules WHERE name = $1)
