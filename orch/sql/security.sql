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
