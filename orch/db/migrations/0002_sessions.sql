-- Console log-in sessions (orch/gateway/session.py): the browser holds a
-- random secret in an HttpOnly cookie; the database keeps only its sha256, so
-- a copy of this table opens no session. The CSRF token is derived from the
-- secret, so it is not stored either.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    secret_hash   text NOT NULL UNIQUE,           -- sha256 hex of the cookie's secret
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,           -- pushed forward while the session is used
    remote        text                            -- address the log-in came from
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
