-- First start of an empty database: the admin user (orch/db/bootstrap.py).

-- name: bootstrap_lock
-- no parameters; serialises concurrent first starts until commit
SELECT pg_advisory_xact_lock(1869771621)

-- name: bootstrap_any_user
-- no parameters
SELECT EXISTS (SELECT 1 FROM users)

-- name: bootstrap_admin
-- $1 group id, $2 user id, $3 user name, $4 password hash, $5 token id, $6 token hash
WITH grp AS (
    INSERT INTO groups (id, name) VALUES ($1, 'admins')
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id
),
usr AS (
    INSERT INTO users (id, name, password_hash) VALUES ($2, $3, $4) RETURNING id
),
member AS (
    INSERT INTO group_members (group_id, user_id) SELECT grp.id, usr.id FROM grp, usr
),
tok AS (
    INSERT INTO tokens (id, user_id, name, token_hash) SELECT $5, usr.id, 'bootstrap', $6 FROM usr
)
INSERT INTO audit (actor, action, target, data)
VALUES ('system', 'bootstrap_admin', $3, jsonb_build_object('group', 'admins'))
