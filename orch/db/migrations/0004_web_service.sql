-- 0004: the web service (issue 7): idempotent job starts, the instance log, and
-- folder and runbook paths that always agree with their folders (folders can be
-- renamed and moved).

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
