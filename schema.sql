-- orch orchestration database: the canonical schema.
-- Ordered migrations in orch/db/migrations/ must produce exactly this schema
-- (tests/integration/test_migrations.py compares the two).

CREATE TABLE folders (
    id          uuid PRIMARY KEY,
    path        text NOT NULL UNIQUE,             -- '/', '/Ops', '/Ops/Services'
    parent_id   uuid REFERENCES folders (id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT folders_path_absolute CHECK (path LIKE '/%')
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    password_hash  text,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE groups (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_members (
    group_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE tokens (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    token_hash    text NOT NULL UNIQUE,           -- sha256 of the secret; the secret is shown once
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

CREATE TABLE grants (
    id              uuid PRIMARY KEY,
    principal_kind  text NOT NULL CHECK (principal_kind IN ('user', 'group')),
    principal_id    uuid NOT NULL,
    target_path     text NOT NULL,                -- a folder or runbook path; '/' for system rights
    rights          text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (principal_kind, principal_id, target_path)
);

CREATE TABLE runbooks (
    id                   uuid PRIMARY KEY,
    folder_id            uuid NOT NULL REFERENCES folders (id),
    name                 text NOT NULL,
    path                 text NOT NULL UNIQUE,    -- folder path + '/' + name
    current_version      integer NOT NULL,
    is_monitor           boolean NOT NULL DEFAULT false,
    max_concurrent_jobs  integer NOT NULL DEFAULT 0 CHECK (max_concurrent_jobs >= 0),
    checked_out_by       uuid REFERENCES users (id),
    checked_out_at       timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (folder_id, name)
);

CREATE TABLE runbook_versions (
    runbook_id   uuid NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    document     jsonb NOT NULL,                  -- the orch.runbook/1 document as checked in
    hash         text NOT NULL,                   -- sha256 of the canonical document bytes
    comment      text NOT NULL DEFAULT '',
    created_by   uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (runbook_id, version)
);

-- Primary server first (position 0), then standbys in order.
CREATE TABLE runbook_servers (
    runbook_id   uuid NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    position     integer NOT NULL CHECK (position >= 0),
    server_name  text NOT NULL,
    PRIMARY KEY (runbook_id, position),
    UNIQUE (runbook_id, server_name)
);

CREATE TABLE servers (
    name          text PRIMARY KEY,
    status        text NOT NULL CHECK (status IN ('up', 'down', 'stopped')),
    host          text NOT NULL DEFAULT '',
    pid           integer,
    capacity      integer NOT NULL CHECK (capacity > 0),
    running       integer NOT NULL DEFAULT 0,
    packs         jsonb NOT NULL DEFAULT '[]',
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id                  uuid PRIMARY KEY,
    runbook_id          uuid NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    runbook_version     integer NOT NULL,
    status              text NOT NULL CHECK (status IN
                            ('queued', 'running', 'success', 'warning', 'failed', 'stopped')),
    parameters          jsonb NOT NULL DEFAULT '{}',
    returned_data       jsonb,
    is_monitor          boolean NOT NULL DEFAULT false,
    target_server       text,                     -- asked for at start; null = any eligible
    claimed_by          text,
    instance_id         uuid,                     -- the latest instance
    waiting_reason      text,
    created_by          uuid REFERENCES users (id),
    parent_job_id       uuid REFERENCES jobs (id),
    parent_instance_id  uuid,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at          timestamptz,
    ended_at            timestamptz,
    stop_requested_at   timestamptz,
    FOREIGN KEY (runbook_id, runbook_version) REFERENCES runbook_versions (runbook_id, version)
);
CREATE INDEX jobs_queued ON jobs (created_at) WHERE status = 'queued';
CREATE INDEX jobs_runbook ON jobs (runbook_id, created_at);
CREATE INDEX jobs_status ON jobs (status, created_at);
-- At most one live job per monitor runbook: the database, not Python, enforces it.
CREATE UNIQUE INDEX jobs_one_live_monitor ON jobs (runbook_id)
    WHERE is_monitor AND status IN ('queued', 'running');

CREATE TABLE instances (
    id             uuid PRIMARY KEY,
    job_id         uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    server         text NOT NULL,                 -- current owner
    epoch          integer NOT NULL DEFAULT 1,    -- bumped on each takeover; fences old owners
    status         text NOT NULL CHECK (status IN
                       ('running', 'success', 'warning', 'failed', 'stopped')),
    returned_data  jsonb,
    error          text,
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at       timestamptz
);
CREATE INDEX instances_job ON instances (job_id);
CREATE INDEX instances_running_server ON instances (server) WHERE status = 'running';

CREATE TABLE activity_runs (
    run_id       uuid PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY,   -- start order within the instance
    instance_id  uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    activity     text NOT NULL,
    parent_run   uuid,
    item         integer NOT NULL DEFAULT 0,
    attempt      integer NOT NULL DEFAULT 1,
    status       text NOT NULL CHECK (status IN
                     ('running', 'success', 'warning', 'failed', 'interrupted', 'stopped')),
    published    jsonb NOT NULL DEFAULT '[]',
    lineage      bytea NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    error        text
);
CREATE INDEX activity_runs_instance ON activity_runs (instance_id, seq);

-- The live feed's source: one row per state change, written in the same
-- transaction as the change it describes.
CREATE TABLE events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL,                   -- job | instance | activity | server | audit
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    runbook_id   uuid,
    job_id       uuid,
    instance_id  uuid,
    activity     text,
    run_id       uuid,
    status       text,
    server       text,
    data         jsonb
);
CREATE INDEX events_job ON events (job_id, seq);

CREATE TABLE variables (
    name        text PRIMARY KEY,
    value       text NOT NULL,                    -- ciphertext when encrypted
    encrypted   boolean NOT NULL DEFAULT false,
    updated_by  uuid REFERENCES users (id),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor   text,
    action  text NOT NULL,
    target  text,
    data    jsonb
);

-- A job is a row: inserting one wakes the runbook servers (LISTEN orch_jobs).
CREATE FUNCTION orch_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_jobs', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_jobs();

-- Every event wakes the gateways' live feed (LISTEN orch_events); the payload
-- is unused, listeners read events after the last seq they saw.
CREATE FUNCTION orch_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_events', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_events();
