-- Users and groups from a company directory (orch/directory/store.py). Times are
-- orch_now() so tests move the clock (test_clock) past a refresh window instead of
-- sleeping. `source` names the directory ('ldap', 'oidc').

-- name: directory_user_by_subject
-- $1: source, $2: subject (DN, OIDC sub)
SELECT u.id::text AS user_id, u.name
  FROM external_identities e
  JOIN users u ON u.id = e.user_id
 WHERE e.source = $1 AND e.subject = $2;

-- name: directory_user_by_name
-- $1: user name; the user and the directory it is linked to (null: a local user)
SELECT u.id::text AS user_id, u.name, u.password_hash, u.disabled, e.source
  FROM users u
  LEFT JOIN external_identities e ON e.user_id = u.id
 WHERE u.name = $1;

-- name: directory_user_insert
-- $1: id, $2: name; a user without a password (it signs in through its directory)
INSERT INTO users (id, name) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING
RETURNING id::text;

-- name: directory_identity
-- $1: user id; the stored identity and the age of its membership in seconds
SELECT e.user_id::text AS user_id, u.name, e.source, e.subject, e.groups, e.active,
       extract(epoch FROM orch_now() - e.checked_at)::float8 AS age
  FROM external_identities e
  JOIN users u ON u.id = e.user_id
 WHERE e.user_id = $1::uuid;

-- name: directory_identity_lock
-- $1: user id; the same, locked so one refresh at a time writes a user's membership
SELECT e.groups, e.active, extract(epoch FROM orch_now() - e.checked_at)::float8 AS age
  FROM external_identities e
 WHERE e.user_id = $1::uuid
   FOR UPDATE;

-- name: directory_identity_upsert
-- $1: user id, $2: source, $3: subject, $4: group names (text[]), $5: active; read now
INSERT INTO external_identities (user_id, source, subject, groups, active, checked_at)
VALUES ($1::uuid, $2, $3, $4::text[], $5, orch_now())
ON CONFLICT (user_id) DO UPDATE
   SET source = EXCLUDED.source, subject = EXCLUDED.subject, groups = EXCLUDED.groups,
       active = EXCLUDED.active, checked_at = EXCLUDED.checked_at;

-- name: directory_groups_ensure
-- $1: group names (text[]), $2: source; the missing ones are created, marked as the
-- source's (a local group of the same name is the same principal and stays local)
INSERT INTO groups (id, name, source)
SELECT gen_random_uuid(), n, $2 FROM unnest($1::text[]) n
ON CONFLICT (name) DO NOTHING;

-- name: directory_memberships_set
-- $1: user id, $2: source, $3: group names (text[]); the source's memberships of the user
-- become exactly these (memberships added by hand are never touched)
WITH gone AS (
    DELETE FROM group_members m
     USING groups g
     WHERE m.group_id = g.id AND m.user_id = $1::uuid AND m.source = $2
       AND NOT g.name = ANY ($3::text[])
)
INSERT INTO group_members (group_id, user_id, source)
SELECT g.id, $1::uuid, $2 FROM groups g WHERE g.name = ANY ($3::text[])
ON CONFLICT DO NOTHING;

-- name: directory_sessions_end
-- $1: user id; a removed or disabled directory user's sessions end
DELETE FROM sessions WHERE user_id = $1::uuid;

-- name: directory_group
-- $1: group name; whether orch knows it, and from where (null source: a local group)
SELECT g.id::text AS id, g.source FROM groups g WHERE g.name = $1;

-- name: directory_me
-- $1: user id; what the directory said about the user at its last read (GET /me)
SELECT e.source, e.groups, e.checked_at FROM external_identities e WHERE e.user_id = $1::uuid;

-- name: directory_principal
-- $1: user id; the principal columns of an enabled user, as the token and session
-- queries give them (the live feed checks a directory user again on each subscription)
SELECT u.id::text AS user_id,
       u.name,
       EXISTS (SELECT 1
                 FROM group_members m
                 JOIN groups g ON g.id = m.group_id
                WHERE m.user_id = u.id AND g.name = 'admins') AS is_admin,
       e.source AS directory,
       e.active AS directory_active,
       extract(epoch FROM orch_now() - e.checked_at)::float8 AS directory_age
  FROM users u
  LEFT JOIN external_identities e ON e.user_id = u.id
 WHERE u.id = $1::uuid AND NOT u.disabled;

-- name: directory_user_disabled
-- $1: user id; disabled in orch (PATCH /users): no directory sign-in either
SELECT disabled FROM users WHERE id = $1::uuid;
