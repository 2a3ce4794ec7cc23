-- orch orchestration database: the canonical schema.
-- Ordered migrations in orch/db/migrations/ must produce exactly this schema
-- (tests/integration/test_migrations.py compares the two).

-- Which migrations were applied (orch/db/migrate.py creates it first, identically).
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE folders (
    id          uuid PRIMARY KEY,
    path        text NOT NULL UNIQUE,             -- '/', '/Ops', '/Ops/Services'
    parent_id   uuid REFERENCES folders (id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT folders_path_absolute CHECK (path LIKE '/%')
);
-- The root folder exists in every database.
INSERT INTO folders (id, path, parent_id, name)
    VALUES ('00000000-0000-0000-0000-000000000000', '/', NULL, '');

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
    disabled_at          timestamptz,             -- disabled: no new jobs (409)
    disabled_by          text,
    UNIQUE (folder_id, name)
);
-- Claims ask whether any runbook is limited (0014): a probe of an empty index.
CREATE INDEX runbooks_limited ON runbooks (id) WHERE max_concurrent_jobs > 0;

CREATE TABLE runbook_versions (
    runbook_id   uuid NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    document     jsonb NOT NULL,                  -- the orch.runbook/1 document as checked in
    hash         text NOT NULL,                   -- sha256 of the canonical document bytes
    comment      text NOT NULL DEFAULT '',
    created_by   uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    activity_types  text[],                       -- qualified types it uses (null: unknown)
    -- runbook properties read from the document (0007, orch/server/PROPERTIES.md)
    schedule_name text
        GENERATED ALWAYS AS (document->'schedule'->>'name') STORED,
    schedule_outside text
        GENERATED ALWAYS AS (coalesce(document->'schedule'->>'outside', 'wait')) STORED,
    store_published_data boolean
        GENERATED ALWAYS AS (coalesce((document->'logging'->>'store_published_data')::boolean,
                                      true)) STORED,
    store_common_data boolean
        GENERATED ALWAYS AS (coalesce((document->'logging'->>'store_common_data')::boolean,
                                      true)) STORED,
    job_timeout_seconds double precision
        GENERATED ALWAYS AS ((document->>'job_timeout_seconds')::double precision) STORED,
    max_retries integer
        GENERATED ALWAYS AS (coalesce((document->'retry'->>'max_retries')::integer, 0)) STORED,
    retry_backoff_seconds double precision
        GENERATED ALWAYS AS (coalesce((document->'retry'->>'backoff_seconds')::double precision,
                                      0)) STORED,
    retry_backoff_factor double precision
        GENERATED ALWAYS AS (coalesce((document->'retry'->>'backoff_factor')::double precision,
                                      1)) STORED,
    notify_longer_than double precision
        GENERATED ALWAYS AS ((document->'notifications'->>'runs_longer_than_seconds')
                             ::double precision) STORED,
    notify_failure_to_run double precision
        GENERATED ALWAYS AS (CASE WHEN (document->'notifications'->>'on_failure_to_run')::boolean
                                  THEN coalesce((document->'notifications'
                                                 ->>'failure_to_run_seconds')::double precision,
                                                60) END) STORED,
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

-- Primary server first (position 0), then standbys in order, for every
-- runbook in the folder or below it that has no assignment of its own; the
-- nearest folder with an assignment wins.
CREATE TABLE folder_servers (
    folder_id    uuid NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    position     integer NOT NULL CHECK (position >= 0),
    server_name  text NOT NULL,
    PRIMARY KEY (folder_id, position),
    UNIQUE (folder_id, server_name)
);

-- The assignment in force for each runbook: its own list when it has one,
-- else the list of the nearest folder above it that has one; no row: any
-- server. ``source`` is 'runbook' or the folder's path.
CREATE VIEW runbook_assignment AS
SELECT rs.runbook_id, rs.position, rs.server_name, 'runbook'::text AS source
  FROM runbook_servers rs
UNION ALL
SELECT r.id, fs.position, fs.server_name, nearest.path
  FROM runbooks r
  JOIN folders rf ON rf.id = r.folder_id
  CROSS JOIN LATERAL (
      SELECT f.id, f.path
        FROM folders f
       WHERE f.id IN (SELECT x.folder_id FROM folder_servers x)
         AND (f.path = '/' OR f.path = rf.path OR starts_with(rf.path, f.path || '/'))
       ORDER BY length(f.path) DESC
       LIMIT 1) nearest
  JOIN folder_servers fs ON fs.folder_id = nearest.id
 WHERE NOT EXISTS (SELECT 1 FROM runbook_servers o WHERE o.runbook_id = r.id);

-- status: up (claiming), draining (finishing its instances, claims nothing),
-- maintenance (registered, claims nothing), down (heartbeat lapsed, marked by a
-- peer), stopped (clean exit). Only 'up' with a fresh heartbeat is available.
-- maintenance (the column): an operator's wish, kept across restarts; a server
-- with it starts in status 'maintenance' (orch/db/servers.py).
CREATE TABLE servers (
    name          text PRIMARY KEY,
    status        text NOT NULL CHECK (status IN
                      ('up', 'draining', 'maintenance', 'down', 'stopped')),
    host          text NOT NULL DEFAULT '',
    pid           integer,
    capacity      integer NOT NULL CHECK (capacity > 0),
    running       integer NOT NULL DEFAULT 0,
    packs         jsonb NOT NULL DEFAULT '[]',
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    activity_types  text[] NOT NULL DEFAULT '{}',  -- qualified types of its packs
    pack_versions   jsonb NOT NULL DEFAULT '{}',   -- {"pack": "version"}
    maintenance     boolean NOT NULL DEFAULT false, -- claim nothing, even after a restart
    push_until      timestamptz  -- takes jobs pushed by their start until then (its heartbeat)
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
    priority            integer NOT NULL DEFAULT 0,  -- higher first within a server's claims
    not_before          timestamptz,              -- a retry's back-off
    gate_until          timestamptz,              -- schedule gate open until (orch_now() time)
    retries             integer NOT NULL DEFAULT 0,
    FOREIGN KEY (runbook_id, runbook_version) REFERENCES runbook_versions (runbook_id, version)
);
CREATE INDEX jobs_queued ON jobs (priority DESC, created_at) WHERE status = 'queued';
CREATE INDEX jobs_queued_runbook ON jobs (runbook_id) WHERE status = 'queued';
CREATE INDEX jobs_running_runbook ON jobs (runbook_id) WHERE status = 'running';
CREATE INDEX jobs_running_server ON jobs (claimed_by) WHERE status = 'running';
CREATE INDEX jobs_parent ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;
CREATE INDEX jobs_runbook ON jobs (runbook_id, created_at);
CREATE INDEX jobs_status ON jobs (status, created_at);
-- Job lists are newest first (GET /jobs, the console): read in index order, a
-- page stops after its rows instead of sorting every job.
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
-- At most one live job per monitor runbook: the database, not Python, enforces it.
CREATE UNIQUE INDEX jobs_one_live_monitor ON jobs (runbook_id)
    WHERE is_monitor AND status IN ('queued', 'running');

CREATE TABLE instances (
    id             uuid PRIMARY KEY,
    job_id         uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    server         text,                          -- current owner; null = released, to resume
    epoch          integer NOT NULL DEFAULT 1,    -- bumped on each takeover; fences old owners
    status         text NOT NULL CHECK (status IN
                       ('running', 'success', 'warning', 'failed', 'stopped')),
    returned_data  jsonb,
    error          text,
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at       timestamptz,
    triggered_by   uuid                           -- a monitor's trigger: the monitor instance
);
CREATE INDEX instances_job ON instances (job_id);
CREATE INDEX instances_running_server ON instances (server) WHERE status = 'running';
CREATE INDEX instances_released ON instances (started_at)
    WHERE status = 'running' AND server IS NULL;

CREATE TABLE activity_runs (
    run_id       uuid PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY,   -- start order within the instance
    instance_id  uuid NOT NULL,                   -- its instance (checked by its writer: 0018)
    activity     text NOT NULL,
    parent_run   uuid,
    item         integer NOT NULL DEFAULT 0,
    attempt      integer NOT NULL DEFAULT 1,
    status       text NOT NULL CHECK (status IN
                     ('running', 'success', 'warning', 'failed', 'interrupted', 'stopped')),
    published    jsonb NOT NULL DEFAULT '[]',
    returned_data jsonb,                             -- what a return_data run set
    lineage      bytea NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    error        text,
    superseded_at timestamptz                        -- a resume of the failed instance re-ran it
);
CREATE INDEX activity_runs_instance ON activity_runs (instance_id, seq);
-- A run's instance is not a foreign key (its check cost every insert; each
-- statement writing a run joins its instance, locked, or inserts it): deleting
-- instances deletes their runs here.
CREATE FUNCTION orch_delete_instance_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM activity_runs r USING gone g WHERE r.instance_id = g.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER instances_delete_runs AFTER DELETE ON instances
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION orch_delete_instance_runs();

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
-- An instance's events are read through its job's (every event naming an
-- instance names its job): one b-tree fewer per event (0019).
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

-- A job is a row: inserting a queued one wakes the runbook servers (LISTEN
-- orch_jobs). A job its start pushed to an idle server (insert_job, orch_push)
-- is already claimed: it wakes nobody else.
CREATE FUNCTION orch_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'queued') THEN
        PERFORM pg_notify('orch_jobs', '');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_jobs();

-- Every event wakes the gateways' live feed (LISTEN orch_events); the payload
-- is unused, listeners read events after the last seq they saw. A statement
-- marked quiet (orch.events_quiet, set for its transaction by a group commit
-- that follows a notifying one closely) leaves the wake-up to that earlier
-- commit: the readers it woke are still polling (orch/db/feed_wake.py).
CREATE FUNCTION orch_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('orch.events_quiet', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('orch_events', '');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_events();

-- Stop requests reach the owning server at once (LISTEN orch_stops, payload:
-- the job id); the server also polls for them.
CREATE FUNCTION orch_notify_stop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_stops', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_notify_stop AFTER UPDATE OF stop_requested_at ON jobs
    FOR EACH ROW WHEN (OLD.stop_requested_at IS NULL AND NEW.stop_requested_at IS NOT NULL)
    EXECUTE FUNCTION orch_notify_stop();

-- A child job (invoke_runbook) that ends wakes its waiting parent, wherever it
-- runs (LISTEN orch_job_ended, payload: the job id).
CREATE FUNCTION orch_notify_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_job_ended', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_notify_ended AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.parent_job_id IS NOT NULL
                       AND OLD.status IN ('queued', 'running')
                       AND NEW.status NOT IN ('queued', 'running'))
    EXECUTE FUNCTION orch_notify_job_ended();

-- May server p_server run a job of runbook p_runbook that names p_target as its
-- server? Yes when the job names p_server; when it names no server and the
-- runbook has no assignment (own or inherited); or when p_server is assigned
-- and every server before it is unavailable (not 'up', heartbeat older than
-- p_timeout seconds, or at capacity). Used by instance takeovers.
CREATE FUNCTION orch_may_run(p_runbook uuid, p_target text, p_server text,
                             p_timeout double precision)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_target IS NOT NULL THEN p_target = p_server
        WHEN NOT EXISTS (SELECT 1 FROM runbook_assignment a WHERE a.runbook_id = p_runbook)
            THEN true
        ELSE EXISTS (
            SELECT 1 FROM runbook_assignment mine
             WHERE mine.runbook_id = p_runbook
               AND mine.server_name = p_server
               AND NOT EXISTS (
                   SELECT 1 FROM runbook_assignment b
                     JOIN servers s ON s.name = b.server_name
                    WHERE b.runbook_id = p_runbook
                      AND b.position < mine.position
                      AND s.status = 'up'
                      AND s.heartbeat_at > now() - make_interval(secs => p_timeout)
                      AND s.running < s.capacity))
    END
$$;

-- Claim up to p_limit queued jobs for server p_server (the rule of
-- orch_may_run, evaluated once per call as two arrays rather than per job: a
-- SQL function with sub-queries is not inlined) and create their instances, in
-- one call (one round trip). Folder assignments are looked up only when some
-- folder has one, and then only for runbooks with queued jobs, so the common
-- case costs what it did before. Runbooks with max_concurrent_jobs are
-- claimed under a per-runbook advisory lock taken before the claim's
-- snapshot, so claimers on different servers see each other's claims and the
-- limit is exact. p_running is the server's count of running instances before
-- this claim (recorded with the claim).
-- The claim commits without waiting for its WAL flush: nothing outside the
-- database happens before the instance's first durable write, whose flush
-- (WAL is flushed in order) makes the claim durable too; a claim lost in a
-- database crash only puts the job back in the queue.
CREATE FUNCTION orch_claim_jobs(p_server text, p_limit integer, p_running integer,
                                p_timeout double precision)
RETURNS TABLE (job_id uuid, instance_id uuid, runbook_id uuid, runbook_version integer,
               runbook_path text, runbook_name text, parameters jsonb, created_by uuid,
               started_at timestamptz)
LANGUAGE plpgsql
-- Walk the queue in order and stop at p_limit, whatever the statistics say
-- about its length (a sort reads every queued job on each claim): keep this.
SET enable_sort = off
AS $$
#variable_conflict use_column
DECLARE
    v_folders boolean;  -- some folder has an assignment
    v_assigned uuid[];  -- runbooks with an assignment of their own (no folder assignments)
    v_free uuid[];      -- runbooks with queued jobs and no assignment (folder assignments)
    v_mine uuid[];      -- runbooks with an assignment that p_server may run now
    v_types text[];     -- the activity types p_server has (null: no row, not checked)
    v_queued boolean;   -- some job is queued
    v_own boolean;      -- some runbook has an assignment of its own
    v_limited boolean;  -- some runbook has max_concurrent_jobs
BEGIN
    -- One statement for everything the common case needs to know (each
    -- PL/pgSQL statement is an executor start-up on the claim's path); the
    -- asynchronous commit is set here too (harmless when nothing is claimed).
    SELECT EXISTS (SELECT 1 FROM jobs q WHERE q.status = 'queued'),
           (SELECT s.activity_types FROM servers s WHERE s.name = p_server),
           EXISTS (SELECT 1 FROM folder_servers),
           EXISTS (SELECT 1 FROM runbook_servers),
           EXISTS (SELECT 1 FROM runbooks r WHERE r.max_concurrent_jobs > 0),
           set_config('synchronous_commit', 'off', true) IS NOT NULL
      INTO v_queued, v_types, v_folders, v_own, v_limited;
    -- Nothing queued (a slot freed, a poll): answer at once, skipping the rest.
    IF NOT v_queued THEN
        RETURN;
    END IF;
    IF v_folders THEN
        -- A job queued after this statement's snapshot is in neither array:
        -- it waits for the next round (its NOTIFY wakes one) rather than
        -- being claimed against its assignment.
        WITH queued AS (
            SELECT DISTINCT q.runbook_id FROM jobs q WHERE q.status = 'queued'
        ),
        a AS (
            SELECT ra.* FROM runbook_assignment ra
             WHERE ra.runbook_id IN (SELECT queued.runbook_id FROM queued)
        )
        SELECT ARRAY(SELECT queued.runbook_id FROM queued
                      WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.runbook_id = queued.runbook_id)),
               ARRAY(SELECT mine.runbook_id FROM a mine
                      WHERE mine.server_name = p_server
                        AND NOT EXISTS (
                            SELECT 1 FROM a b
                              JOIN servers s ON s.name = b.server_name
                             WHERE b.runbook_id = mine.runbook_id
                               AND b.position < mine.position
                               AND s.status = 'up'
                               AND s.heartbeat_at > now() - make_interval(secs => p_timeout)
                               AND s.running < s.capacity))
          INTO v_free, v_mine;
    ELSIF NOT v_own THEN
        v_assigned := '{}';  -- no assignment anywhere: any server, no query
        v_mine := '{}';
    ELSE
        SELECT ARRAY(SELECT DISTINCT a.runbook_id FROM runbook_servers a),
               ARRAY(SELECT mine.runbook_id FROM runbook_servers mine
                      WHERE mine.server_name = p_server
                        AND NOT EXISTS (
                            SELECT 1 FROM runbook_servers b
                              JOIN servers s ON s.name = b.server_name
                             WHERE b.runbook_id = mine.runbook_id
                               AND b.position < mine.position
                               AND s.status = 'up'
                               AND s.heartbeat_at > now() - make_interval(secs => p_timeout)
                               AND s.running < s.capacity))
          INTO v_assigned, v_mine;
    END IF;
    IF v_limited THEN
        PERFORM pg_advisory_xact_lock(1869771619, l.key)
           FROM (SELECT DISTINCT hashtext(r.id::text) AS key
                   FROM runbooks r
                  WHERE r.max_concurrent_jobs > 0
                    AND EXISTS (SELECT 1 FROM jobs q
                                 WHERE q.runbook_id = r.id AND q.status = 'queued')
                  ORDER BY 1) l;
    END IF;
    RETURN QUERY
    WITH candidates AS (
        SELECT j.id, j.runbook_id, j.priority, j.created_at, r.max_concurrent_jobs AS max_jobs
          FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
          JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
         WHERE j.status = 'queued'
           AND r.disabled_at IS NULL
           AND (j.not_before IS NULL OR j.not_before <= clock_timestamp())
           AND (v.schedule_name IS NULL OR j.gate_until > orch_now())
           AND (v_types IS NULL OR v.activity_types IS NULL OR v.activity_types <@ v_types)
           AND (j.target_server = p_server
                OR (j.target_server IS NULL
                    AND (CASE WHEN v_folders THEN j.runbook_id = ANY (v_free)
                              ELSE j.runbook_id <> ALL (v_assigned) END
                         OR j.runbook_id = ANY (v_mine))))
           AND (r.max_concurrent_jobs = 0
                OR r.max_concurrent_jobs > (SELECT count(*) FROM jobs x
                                             WHERE x.runbook_id = j.runbook_id
                                               AND x.status = 'running'))
         ORDER BY j.priority DESC, j.created_at
         LIMIT p_limit
         FOR UPDATE OF j SKIP LOCKED
    ),
    ranked AS (
        SELECT c.id, c.max_jobs,
               row_number() OVER (PARTITION BY c.runbook_id
                                  ORDER BY c.priority DESC, c.created_at) AS rn,
               CASE WHEN c.max_jobs = 0 THEN 0
                    ELSE (SELECT count(*) FROM jobs x
                           WHERE x.runbook_id = c.runbook_id AND x.status = 'running')
               END AS running_now
          FROM candidates c
    ),
    claimed AS (
        UPDATE jobs j
           SET status = 'running', claimed_by = p_server, started_at = clock_timestamp(),
               waiting_reason = NULL, instance_id = gen_random_uuid()
          FROM ranked k
         WHERE j.id = k.id AND (k.max_jobs = 0 OR k.rn + k.running_now <= k.max_jobs)
        RETURNING j.id, j.instance_id, j.runbook_id, j.runbook_version, j.parameters,
                  j.created_by, j.started_at, j.created_at, j.priority
    ),
    new_instances AS (
        INSERT INTO instances (id, job_id, server, epoch, status, started_at)
        SELECT c.instance_id, c.id, p_server, 1, 'running', c.started_at FROM claimed c
    ),
    new_events AS (
        INSERT INTO events (kind, at, runbook_id, job_id, instance_id, status, server, data)
        SELECT e.kind, e.at, e.runbook_id, e.job_id, e.instance_id, 'running', p_server, e.data
          FROM (SELECT 'job' AS kind, c.started_at AS at, c.runbook_id, c.id AS job_id,
                       c.instance_id, jsonb_build_object('claimed_by', p_server) AS data,
                       c.priority, c.created_at AS created_at, 1 AS ord
                  FROM claimed c
                UNION ALL
                SELECT 'instance', c.started_at, c.runbook_id, c.id, c.instance_id,
                       jsonb_build_object('server', p_server, 'epoch', 1), c.priority,
                       c.created_at, 2
                  FROM claimed c) e
         ORDER BY e.priority DESC, e.created_at, e.job_id, e.ord
    ),
    me AS (
        UPDATE servers SET running = p_running + (SELECT count(*) FROM claimed)
         WHERE name = p_server AND EXISTS (SELECT 1 FROM claimed)
    )
    SELECT c.id, c.instance_id, c.runbook_id, c.runbook_version, r.path, r.name,
           c.parameters, c.created_by, c.started_at
      FROM claimed c JOIN runbooks r ON r.id = c.runbook_id
     ORDER BY c.priority DESC, c.created_at;
END;
$$;

-- What a claim's events say (0015): the lean claim's first group commit and
-- a takeover of a lean claim never committed write these rows, in this order.
CREATE FUNCTION orch_claim_events(p_server text)
RETURNS TABLE (sub integer, kind text, data jsonb)
LANGUAGE sql IMMUTABLE AS $$
    VALUES (-2, 'job', jsonb_build_object('claimed_by', p_server)),
           (-1, 'instance', jsonb_build_object('server', p_server, 'epoch', 1))
$$;

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

-- A retried start with the same Idempotency-Key returns the job of the first
-- one. The key row is inserted first, in the start's transaction: a concurrent
-- retry waits on the primary key and then finds the committed job.
CREATE TABLE job_idempotency_keys (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key           text NOT NULL,
    request_hash  text NOT NULL,                  -- sha256 of the request; another request is a 409
    job_id        uuid REFERENCES jobs (id) ON DELETE CASCADE,  -- set in the same transaction
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX job_idempotency_keys_job ON job_idempotency_keys (job_id);

-- What activities wrote (Context.write_log) and program output as it streamed,
-- written in batches by each runbook server; read by GET /instances/{id}/log.
CREATE TABLE instance_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id  uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    run_id       uuid,
    activity     text,
    stream       text NOT NULL CHECK (stream IN ('log', 'stdout', 'stderr')),
    at           timestamptz NOT NULL,
    text         text NOT NULL
);
CREATE INDEX instance_log_instance ON instance_log (instance_id, id);

-- A folder's path is its parent's path plus its name, and a runbook's path its
-- folder's path plus its name. The parent (folder) row is share-locked while
-- checking, so a rename or move of it (which updates it) either commits first
-- and the stale path is refused, or waits for this transaction.
CREATE FUNCTION orch_check_folder_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_parent text;
BEGIN
    IF NEW.parent_id IS NULL THEN
        IF NEW.path <> '/' THEN
            RAISE EXCEPTION 'folder % has no parent', NEW.path;
        END IF;
        RETURN NEW;
    END IF;
    SELECT path INTO v_parent FROM folders WHERE id = NEW.parent_id FOR SHARE;
    IF v_parent IS NULL OR NEW.path IS DISTINCT FROM
            (CASE WHEN v_parent = '/' THEN '' ELSE v_parent END) || '/' || NEW.name THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = format('folder path %s does not match its parent %s (moved meanwhile)',
                             NEW.path, v_parent);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER folders_path BEFORE INSERT OR UPDATE OF parent_id, name ON folders
    FOR EACH ROW EXECUTE FUNCTION orch_check_folder_path();

CREATE FUNCTION orch_check_runbook_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_folder text;
BEGIN
    SELECT path INTO v_folder FROM folders WHERE id = NEW.folder_id FOR SHARE;
    IF v_folder IS NULL OR NEW.path IS DISTINCT FROM
            (CASE WHEN v_folder = '/' THEN '' ELSE v_folder END) || '/' || NEW.name THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = format('runbook path %s does not match its folder %s (moved meanwhile)',
                             NEW.path, v_folder);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER runbooks_path BEFORE INSERT OR UPDATE OF folder_id, name, path ON runbooks
    FOR EACH ROW EXECUTE FUNCTION orch_check_runbook_path();

-- Integration packs, state, approvals, monitors (0005, issue 8).
-- A pack registered by `orch ip install`: every version ever installed, with
-- the JSON Schemas of its activity types (generated from their Structs).
CREATE TABLE integration_packs (
    name           text NOT NULL,                 -- the orch.activities entry point name
    version        text NOT NULL,                 -- the distribution's version
    distribution   text NOT NULL,
    registered_by  text,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

CREATE TABLE pack_activity_types (
    pack           text NOT NULL,
    pack_version   text NOT NULL,
    name           text NOT NULL,
    display_name   text NOT NULL DEFAULT '',
    description    text NOT NULL DEFAULT '',
    category       text NOT NULL DEFAULT '',
    rerunnable     boolean NOT NULL DEFAULT false,
    monitor        boolean NOT NULL DEFAULT false,
    input_schema   jsonb NOT NULL,
    output_schema  jsonb NOT NULL,
    PRIMARY KEY (pack, pack_version, name),
    FOREIGN KEY (pack, pack_version) REFERENCES integration_packs (name, version)
        ON DELETE CASCADE
);

-- Counters: every change is one UPDATE (atomic across runbook servers).
CREATE TABLE counters (
    name           text PRIMARY KEY,
    value          bigint NOT NULL DEFAULT 0,
    default_value  bigint NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Named schedules (orch.sdk.schedule.Schedule as JSON).
CREATE TABLE schedules (
    name        text PRIMARY KEY,
    definition  jsonb NOT NULL,
    updated_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- wait_for_approval: one row per waiting run (run_key: its run id, so a
-- takeover waits for the same approval).
CREATE TABLE approvals (
    id               uuid PRIMARY KEY,
    run_key          text NOT NULL UNIQUE,
    job_id           uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    instance_id      uuid NOT NULL,
    runbook_id       uuid NOT NULL,
    runbook_path     text NOT NULL,
    activity         text NOT NULL,
    message          text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    requested_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at       timestamptz NOT NULL,
    decided_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_by_name  text,
    decided_at       timestamptz,
    comment          text NOT NULL DEFAULT ''
);
CREATE INDEX approvals_pending ON approvals (requested_at) WHERE status = 'pending';

-- A decision wakes the waiting runbook server (LISTEN orch_approvals, payload: the id).
CREATE FUNCTION orch_notify_approval() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_approvals', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER approvals_notify AFTER UPDATE OF status ON approvals
    FOR EACH ROW WHEN (OLD.status = 'pending' AND NEW.status <> 'pending')
    EXECUTE FUNCTION orch_notify_approval();

-- monitor_webhook: the endpoint of a runbook while its monitor listens (the
-- token's sha256), and the requests the gateway accepted for it.
CREATE TABLE webhooks (
    runbook_id   uuid PRIMARY KEY REFERENCES runbooks (id) ON DELETE CASCADE,
    token_hash   text NOT NULL,
    instance_id  uuid,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_requests (
    id           uuid PRIMARY KEY,
    runbook_id   uuid NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    body         jsonb NOT NULL,
    remote       text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    taken_at     timestamptz
);
CREATE INDEX webhook_requests_waiting ON webhook_requests (runbook_id, received_at)
    WHERE taken_at IS NULL;

-- An accepted request wakes the listening monitor (LISTEN orch_hooks, payload: runbook id).
CREATE FUNCTION orch_notify_hook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_hooks', NEW.runbook_id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhook_requests_notify AFTER INSERT ON webhook_requests
    FOR EACH ROW EXECUTE FUNCTION orch_notify_hook();

-- Runbook properties (0007, issue 14; orch/server/PROPERTIES.md).
-- Notifications (kind 'notification' events) waiting for delivery; one
-- server claims each (FOR UPDATE SKIP LOCKED) and records the outcome.
CREATE TABLE notifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('runs_longer', 'failed_to_run')),
    job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    instance_id   uuid,
    runbook_id    uuid NOT NULL,
    runbook_path  text NOT NULL,
    message       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts      integer NOT NULL DEFAULT 0,
    next_try_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_by    text,
    claimed_until timestamptz,
    delivered_at  timestamptz,
    last_error    text,
    UNIQUE (kind, job_id, instance_id)
);
CREATE INDEX notifications_pending ON notifications (next_try_at) WHERE delivered_at IS NULL;

-- The time the schedule gate reads. Production: now(). Tests put one row in
-- test_clock to set the time, never sleeping until a window.
CREATE TABLE test_clock (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    now       timestamptz NOT NULL
);
CREATE FUNCTION orch_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT t.now FROM test_clock t), now())
$$;

-- Retries: a job whose instance failed goes back to the queue while it has
-- retries left, as one row update (the writer's outcome statement), so no
-- waiter ever sees it 'failed' in between. Not for monitors, not after a stop.
CREATE FUNCTION orch_retry_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v runbook_versions%ROWTYPE;
    wait double precision;
BEGIN
    SELECT * INTO v FROM runbook_versions
     WHERE runbook_id = NEW.runbook_id AND version = NEW.runbook_version;
    IF v.max_retries IS NULL OR NEW.retries >= v.max_retries THEN
        RETURN NEW;
    END IF;
    wait := v.retry_backoff_seconds * power(v.retry_backoff_factor, NEW.retries);
    NEW.retries := NEW.retries + 1;
    NEW.status := 'queued';
    NEW.claimed_by := NULL;
    NEW.ended_at := NULL;
    NEW.returned_data := NULL;
    NEW.not_before := clock_timestamp() + make_interval(secs => wait);
    NEW.waiting_reason := format('retry %s of %s after a failure, not before %s',
                                 NEW.retries, v.max_retries,
                                 to_char(NEW.not_before AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    RETURN NEW;
END;
$$;
CREATE TRIGGER jobs_retry BEFORE UPDATE OF status ON jobs
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status = 'failed'
                       AND NOT NEW.is_monitor AND NEW.stop_requested_at IS NULL)
    EXECUTE FUNCTION orch_retry_job();

-- Logging level: when an instance ends, a runbook that does not store
-- published data keeps only statuses and timings of its activity runs (the
-- data was needed for resuming until then). Strips the activity-specific
-- fields, the common ones, or both, as the version says.
CREATE FUNCTION orch_strip_published() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep_own boolean;
    keep_common boolean;
BEGIN
    SELECT v.store_published_data, v.store_common_data INTO keep_own, keep_common
      FROM jobs j
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
     WHERE j.id = NEW.job_id;
    IF keep_own IS NULL OR (keep_own AND keep_common) THEN
        RETURN NULL;
    END IF;
    UPDATE activity_runs a
       SET published = CASE WHEN NOT keep_own AND NOT keep_common THEN '[]'::jsonb
                       ELSE (SELECT coalesce(jsonb_agg(
                                 CASE WHEN keep_common
                                      THEN (SELECT coalesce(jsonb_object_agg(f.key, f.value),
                                                            '{}'::jsonb)
                                              FROM jsonb_each(item) f
                                             WHERE f.key IN ('Status', 'StartTime', 'EndTime',
                                                             'ErrorSummary', 'ActivityName'))
                                      ELSE item - ARRAY['Status', 'StartTime', 'EndTime',
                                                        'ErrorSummary', 'ActivityName'] END
                                 ORDER BY n), '[]'::jsonb)
                               FROM jsonb_array_elements(a.published) WITH ORDINALITY
                                    AS x(item, n)) END
     WHERE a.instance_id = NEW.id AND a.published <> '[]'::jsonb;
    RETURN NULL;
END;
$$;
CREATE TRIGGER instances_strip_published AFTER UPDATE OF status ON instances
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
    EXECUTE FUNCTION orch_strip_published();

-- Login rate limiting and retention (issue 11).
-- Failed logins are counted from the audit log over a sliding window
-- (orch/gateway/throttle.py): a partial index keeps that a short range scan.
CREATE INDEX audit_login_failed ON audit (at) WHERE action = 'login_failed';
-- The purge (orch/db/purge.py) finds old rows by time: finished jobs by
-- ended_at, append-only tables (audit, events, instance_log) by BRIN ranges,
-- which cost next to nothing to maintain on insert.
CREATE INDEX jobs_ended ON jobs (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX audit_at ON audit USING brin (at);
CREATE INDEX events_at ON events USING brin (at);
CREATE INDEX instance_log_at ON instance_log USING brin (at);

-- Users and groups from a company directory (issue 19, orch/directory/): a
-- directory user is a users row plus an external_identities row (its source, the
-- groups the directory gave at the last successful read, and when). Directory
-- groups and the memberships a directory gives carry its name in `source`; a
-- refresh replaces only those, local memberships stay.
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
