-- Console log-in sessions and the caller's own identity (orch/gateway/session.py).

-- name: session_user_by_name
-- $1: user name; `source`: the directory the user is linked to (null: a local user)
SELECT u.id::text AS user_id,
       u.name,
       u.password_hash,
       u.disabled,
       EXISTS (SELECT 1
                 FROM group_members m
                 JOIN groups g ON g.id = m.group_id
                WHERE m.user_id = u.id AND g.name = 'admins') AS is_admin,
       e.source
  FROM users u
  LEFT JOIN external_identities e ON e.user_id = u.id
 WHERE u.name = $1;

-- name: session_user_by_id
-- $1: user id
SELECT u.id::text AS user_id,
       u.name,
       EXISTS (SELECT 1
                 FROM group_members m
                 JOIN groups g ON g.id = m.group_id
                WHERE m.user_id = u.id AND g.name = 'admins') AS is_admin
  FROM users u
 WHERE u.id = $1::uuid;

-- name: session_purge_expired
-- no parameters
DELETE FROM sessions WHERE expires_at <= now();

-- name: session_create
-- $1: session id, $2: sha256 hex of the secret, $3: user id, $4: lifetime in seconds,
-- $5: remote address or null
INSERT INTO sessions (id, secret_hash, user_id, expires_at, remote)
VALUES ($1, $2, $3::uuid, now() + make_interval(secs => $4), $5);

-- name: session_principal
-- $1: sha256 hex of the presented secret, $2: lifetime in seconds; a live session of an
-- enabled user, its expiry pushed forward when less than half of the lifetime is left;
-- a directory user's source, whether active, and the age of its membership in seconds
WITH live AS (
    SELECT s.id, s.user_id, s.expires_at
      FROM sessions s
      JOIN users u ON u.id = s.user_id
     WHERE s.secret_hash = $1
       AND s.expires_at > now()
       AND NOT u.disabled
),
renewed AS (
    UPDATE sessions s
       SET expires_at = now() + make_interval(secs => $2)
      FROM live
     WHERE s.id = live.id
       AND live.expires_at < now() + make_interval(secs => $2 / 2)
)
SELECT live.id::text AS session_id,
       u.id::text AS user_id,
       u.name,
       EXISTS (SELECT 1
                 FROM group_members m
                 JOIN groups g ON g.id = m.group_id
                WHERE m.user_id = u.id AND g.name = 'admins') AS is_admin,
       e.source AS directory,
       e.active AS directory_active,
       extract(epoch FROM orch_now() - e.checked_at)::float8 AS directory_age
  FROM live
  JOIN users u ON u.id = live.user_id
  LEFT JOIN external_identities e ON e.user_id = u.id;

-- name: session_delete
-- $1: session id
DELETE FROM sessions WHERE id = $1::uuid;

-- name: session_rehash_password
-- $1: user id, $2: new argon2 hash of the same password (stronger parameters)
UPDATE users SET password_hash = $2 WHERE id = $1::uuid;

-- name: session_audit
-- $1: actor (user name), $2: action, $3: remote address or null
INSERT INTO audit (actor, action, target, data)
VALUES ($1, $2, $1, jsonb_build_object('remote', $3::text));

-- name: me_groups
-- $1: user id
SELECT g.name
  FROM group_members m
  JOIN groups g ON g.id = m.group_id
 WHERE m.user_id = $1::uuid
 ORDER BY g.name;

-- name: me_grants
-- $1: user id; the grants held by the user and by each of its groups, merged per target
SELECT g.target_path AS target,
       array_agg(DISTINCT x.right_name ORDER BY x.right_name) AS rights
  FROM grants g
  CROSS JOIN LATERAL unnest(g.rights) AS x(right_name)
 WHERE (g.principal_kind = 'user' AND g.principal_id = $1::uuid)
    OR (g.principal_kind = 'group' AND g.principal_id IN
            (SELECT m.group_id FROM group_members m WHERE m.user_id = $1::uuid))
 GROUP BY g.target_path
 ORDER BY g.target_path;
