-- OpenID Connect sign-in (orch/gateway/oidc.py); the rows themselves are written by the
-- directory core (orch/directory/store.py, directory.sql).

-- name: oidc_user_state
-- $1: user id; after the sign-in's identity was applied: whether the user may sign in
SELECT u.id::text AS user_id,
       u.name,
       u.disabled,
       EXISTS (SELECT 1
                 FROM group_members m
                 JOIN groups g ON g.id = m.group_id
                WHERE m.user_id = u.id AND g.name = 'admins') AS is_admin
  FROM users u
 WHERE u.id = $1::uuid;
