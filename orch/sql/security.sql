-- Permissions, principals, tokens, audit and purge (orch/gateway/security.py,
-- orch/db/security.py). A "scope" is the text[] of paths whose subtrees a caller may
-- view (orch.gateway.principal.Principal.view_scope).

-- name: security_visible_runbook_ids
-- $1: scope (text[])
SELECT r.id::text AS id
  FROM runbooks r
 WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) v(p)
                WHERE v.p = '/' OR r.path = v.p OR starts_with(r.path, v.p || '/'));

-- name: security_may_start_child
-- $1: parent job id, $2: the child runbook's path. Whether the parent job's starter (whose
-- rights an invoked child runs with) may start it: no starter (the system), an admin, or a
-- 'start' grant on the path or a folder above it, held by the user or one of its groups.
SELECT u.name,
       u.id IS NULL
       OR (NOT u.disabled
           AND (EXISTS (SELECT 1 FROM group_members m JOIN groups g ON g.id = m.group_id
                         WHERE m.user_id = u.id AND g.name = 'admins')
                OR EXISTS (SELECT 1 FROM grants g
                            WHERE 'start' = ANY (g.rights)
                              AND (g.target_path = '/' OR g.target_path = $2::text
                                   OR starts_with($2::text, g.target_path || '/'))
                              AND ((g.principal_kind = 'user' AND g.principal_id = u.id)
                                   OR (g.principal_kind = 'group' AND g.principal_id IN
                                       (SELECT m.group_id FROM group_members m
                                         WHERE m.user_id = u.id)))))) AS allowed
  FROM jobs p
  LEFT JOIN users u ON u.id = p.created_by
 WHERE p.id = $1::uuid;

-- name: security_audit
-- $1: actor (user name or null), $2: action, $3: target or null, $4: data (jsonb) or null,
-- $5: remote address or null
INSERT INTO audit (actor, action, target, data)
VALUES ($1, $2, $3, coalesce($4::jsonb, '{}'::jsonb) || jsonb_build_object('remote', $5::text));

-- name: security_user_insert
-- $1: id, $2: name, $3: argon2 hash or null; null when the name is taken
INSERT INTO users (id, name, password_hash) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING
RETURNING id::text;

-- name: security_user
-- $1: user name
SELECT u.id::text AS id, u.name, u.disabled, u.password_hash IS NOT NULL AS has_password,
       ARRAY(SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
              WHERE m.user_id = u.id ORDER BY g.name) AS groups,
       u.created_at
  FROM users u
 WHERE u.name = $1;

-- name: security_users_page
-- $1: name of the previous page's last user or null, $2: page size
SELECT u.id::text AS id, u.name, u.disabled, u.password_hash IS NOT NULL AS has_password,
       ARRAY(SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
              WHERE m.user_id = u.id ORDER BY g.name) AS groups,
       u.created_at
  FROM users u
 WHERE ($1::text IS NULL OR u.name > $1::text)
 ORDER BY u.name
 LIMIT $2;

-- name: security_user_set_password
-- $1: user name, $2: argon2 hash; the user's sessions end
WITH changed AS (UPDATE users SET password_hash = $2 WHERE name = $1 RETURNING id)
DELETE FROM sessions s USING changed WHERE s.user_id = changed.id;

-- name: security_user_set_disabled
-- $1: user name, $2: disabled; a disabled user's sessions end
WITH changed AS (UPDATE users SET disabled = $2 WHERE name = $1 RETURNING id, disabled)
DELETE FROM sessions s USING changed WHERE s.user_id = changed.id AND changed.disabled;

-- name: security_group_insert
-- $1: id, $2: name; null when the name is taken
INSERT INTO groups (id, name) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING
RETURNING id::text;

-- name: security_group
-- $1: group name
SELECT g.id::text AS id, g.name,
       ARRAY(SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id
              WHERE m.group_id = g.id ORDER BY u.name) AS members,
       g.created_at, g.source
  FROM groups g
 WHERE g.name = $1;

-- name: security_groups_page
-- $1: name of the previous page's last group or null, $2: page size
SELECT g.id::text AS id, g.name,
       ARRAY(SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id
              WHERE m.group_id = g.id ORDER BY u.name) AS members,
       g.created_at, g.source
  FROM groups g
 WHERE ($1::text IS NULL OR g.name > $1::text)
 ORDER BY g.name
 LIMIT $2;

-- name: security_member_add
-- $1: group name, $2: user name; the number of rows added (0: already a member)
WITH added AS (
    INSERT INTO group_members (group_id, user_id)
    SELECT g.id, u.id FROM groups g, users u WHERE g.name = $1 AND u.name = $2
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*)::int FROM added;

-- name: security_member_remove
-- $1: group name, $2: user name
DELETE FROM group_members m
 USING groups g, users u
 WHERE m.group_id = g.id AND m.user_id = u.id AND g.name = $1 AND u.name = $2;

-- name: security_principal_id
-- $1: 'user' or 'group', $2: name
SELECT CASE WHEN $1::text = 'user' THEN (SELECT id FROM users WHERE name = $2)
            ELSE (SELECT id FROM groups WHERE name = $2) END::text AS id;

-- name: security_grant_upsert
-- $1: new id, $2: principal kind, $3: principal id, $4: target path, $5: rights (text[]);
-- rights already held on the same target are kept (the union)
INSERT INTO grants AS g (id, principal_kind, principal_id, target_path, rights)
VALUES ($1, $2, $3::uuid, $4, $5::text[])
ON CONFLICT (principal_kind, principal_id, target_path) DO UPDATE
   SET rights = ARRAY(SELECT DISTINCT x FROM unnest(g.rights || EXCLUDED.rights) x ORDER BY x)
RETURNING id::text;

-- name: security_grants_page
-- $1: grant id or null, $2: principal kind or null, $3: principal name or null,
-- $4: target path or null, $5: target path of the previous page's last grant or null,
-- $6: its id, $7: page size
SELECT g.id::text AS id,
       g.principal_kind || ':' || coalesce(u.name, gr.name, '?') AS principal,
       g.target_path AS target,
       g.rights,
       g.created_at
  FROM grants g
  LEFT JOIN users u ON g.principal_kind = 'user' AND u.id = g.principal_id
  LEFT JOIN groups gr ON g.principal_kind = 'group' AND gr.id = g.principal_id
 WHERE ($1::uuid IS NULL OR g.id = $1::uuid)
   AND ($2::text IS NULL OR (g.principal_kind = $2::text
                             AND coalesce(u.name, gr.name) = $3::text))
   AND ($4::text IS NULL OR g.target_path = $4::text)
   AND ($5::text IS NULL OR (g.target_path, g.id) > ($5::text, $6::uuid))
 ORDER BY g.target_path, g.id
 LIMIT $7;

-- name: security_grant_revoke
-- $1: grant id, $2: rights to take away (text[]) or null for all; the grant row goes when
-- no right is left. Returns the grant's target (null: no such grant).
WITH target AS (SELECT id, target_path, rights FROM grants WHERE id = $1::uuid),
updated AS (
    UPDATE grants g
       SET rights = ARRAY(SELECT x FROM unnest(g.rights) x WHERE NOT x = ANY ($2::text[]))
      FROM target
     WHERE g.id = target.id AND $2::text[] IS NOT NULL
       AND EXISTS (SELECT 1 FROM unnest(target.rights) x WHERE NOT x = ANY ($2::text[]))
    RETURNING g.id
),
deleted AS (
    DELETE FROM grants g USING target
     WHERE g.id = target.id
       AND ($2::text[] IS NULL
            OR NOT EXISTS (SELECT 1 FROM unnest(target.rights) x WHERE NOT x = ANY ($2::text[])))
    RETURNING g.id
)
SELECT target_path FROM target;

-- name: security_token_insert
-- $1: id, $2: user name, $3: token name, $4: sha256 hex, $5: expires at or null
INSERT INTO tokens (id, user_id, name, token_hash, expires_at)
SELECT $1, u.id, $3, $4, $5 FROM users u WHERE u.name = $2
RETURNING id::text;

-- name: security_token
-- $1: token id
SELECT t.id::text AS id, u.name AS user, t.name, t.created_at, t.expires_at, t.revoked_at,
       t.last_used_at
  FROM tokens t JOIN users u ON u.id = t.user_id
 WHERE t.id = $1::uuid;

-- name: security_tokens_page
-- $1: user name, $2: created_at of the previous page's last token or null, $3: its id,
-- $4: page size
SELECT t.id::text AS id, u.name AS user, t.name, t.created_at, t.expires_at, t.revoked_at,
       t.last_used_at
  FROM tokens t JOIN users u ON u.id = t.user_id
 WHERE u.name = $1
   AND ($2::timestamptz IS NULL OR (t.created_at, t.id) > ($2::timestamptz, $3::uuid))
 ORDER BY t.created_at, t.id
 LIMIT $4;

-- name: security_token_revoke
-- $1: token id
UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1::uuid;

-- name: security_variable_put
-- $1: name, $2: value (ciphertext when encrypted), $3: encrypted, $4: user id
INSERT INTO variables (name, value, encrypted, updated_by, updated_at)
VALUES ($1, $2, $3, $4::uuid, now())
ON CONFLICT (name) DO UPDATE
   SET value = EXCLUDED.value, encrypted = EXCLUDED.encrypted,
       updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
RETURNING name, value, encrypted, updated_at, (xmax = 0) AS created;

-- name: security_variable
-- $1: name
SELECT name, value, encrypted, updated_at FROM variables WHERE name = $1;

-- name: security_variables_page
-- $1: name of the previous page's last variable or null, $2: page size
SELECT name, value, encrypted, updated_at FROM variables
 WHERE ($1::text IS NULL OR name > $1::text)
 ORDER BY name
 LIMIT $2;

-- name: security_variable_delete
-- $1: name
DELETE FROM variables WHERE name = $1 RETURNING name;

-- name: security_encrypted_variables
-- no parameters; locked for re-encryption with a new key
SELECT name, value FROM variables WHERE encrypted ORDER BY name FOR UPDATE;

-- name: security_variable_reencrypt
-- $1: name, $2: the value encrypted with the new key
UPDATE variables SET value = $2 WHERE name = $1 AND encrypted;
