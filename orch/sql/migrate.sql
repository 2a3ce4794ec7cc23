-- Queries of the migration runner (orch/db/migrate.py).

-- name: migrate_in_recovery
-- no parameters; true on a standby (migrations refuse to run there)
SELECT pg_is_in_recovery()

-- name: migrate_lock
-- no parameters; session lock so concurrent `orch db migrate` runs queue up
SELECT pg_advisory_lock(1869771620)

-- name: migrate_unlock
-- no parameters
SELECT pg_advisory_unlock(1869771620)

-- name: migrate_create_table
-- no parameters; identical to the definition in schema.sql
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)

-- name: migrate_applied
-- no parameters
SELECT version FROM schema_migrations ORDER BY version

-- name: migrate_record
-- $1 version, $2 name
INSERT INTO schema_migrations (version, name) VALUES ($1, $2)

-- name: schema_version
-- no parameters; 0 when nothing was applied
SELECT coalesce(max(version), 0) FROM schema_migrations

-- name: migrate_table_exists
-- no parameters
SELECT to_regclass('schema_migrations') IS NOT NULL
