-- 0012: users and groups from a company directory (LDAP / Active Directory, OpenID
-- Connect; orch/directory/). A directory user is an ordinary users row plus an
-- external_identities row: where it comes from, the groups the directory gave at
-- the last successful read, and when that read was (orch_now() time). Directory
-- groups are groups rows marked with their source, and the memberships the
-- directory gives are group_members rows marked the same way, so every query that
-- reads grants or admins works unchanged; a refresh replaces only the marked ones.
ALTER TABLE groups ADD COLUMN source text;
ALTER TABLE group_members ADD COLUMN source text;
CREATE TABLE external_identities (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    source      text NOT NULL,                -- 'ldap', 'oidc', ...
    subject     text NOT NULL,                -- the user's DN, or the issuer's subject
    groups      text[] NOT NULL DEFAULT '{}', -- group names as the directory gave them
    active      boolean NOT NULL DEFAULT true,-- false: removed or disabled at the last read
    checked_at  timestamptz NOT NULL,         -- the last successful read (orch_now() time)
    UNIQUE (source, subject)
);
