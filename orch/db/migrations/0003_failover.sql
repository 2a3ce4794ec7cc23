-- 0003: runbook servers that fail over (issue 12): server assignment per
-- folder (inherited), the effective assignment as one view used by claims and
-- takeovers, and activity runs superseded when a failed instance is resumed.

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

-- Set when a resume of the failed instance re-runs this run (or a run that
-- depended on it): the run stays in the history, resumes ignore it.
ALTER TABLE activity_runs ADD COLUMN superseded_at timestamptz;

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

-- May server p_server run a job of runbook p_runbook that names p_target as its
-- server? Yes when the job names p_server; when it names no server and the
-- runbook has no assignment (own or inherited); or when p_server is assigned
-- and every server before it is unavailable (not 'up', heartbeat older than
-- p_timeout seconds, or at capacity). Used by instance takeovers.
CREATE OR REPLACE FUNCTION orch_may_run(p_runbook uuid, p_target text, p_server text,
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
CREATE OR REPLACE FUNCTION orch_claim_jobs(p_server text, p_limit integer, p_running integer,
                                           p_timeout double precision)
RETURNS TABLE (job_id uuid, instance_id uuid, runbook_id uuid, runbook_version integer,
               runbook_path text, runbook_name text, parameters jsonb, created_by uuid,
               started_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_folders boolean;  -- some folder has an assignment
    v_assigned uuid[];  -- runbooks with an assignment of their own (no folder assignments)
    v_free uuid[];      -- runbooks with queued jobs and no assignment (folder assignments)
    v_mine uuid[];      -- runbooks with an assignment that p_server may run now
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    v_folders := EXISTS (SELECT 1 FROM folder_servers);
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
    PERFORM pg_advisory_xact_lock(1869771619, l.key)
       FROM (SELECT DISTINCT hashtext(r.id::text) AS key
               FROM runbooks r
              WHERE r.max_concurrent_jobs > 0
                AND EXISTS (SELECT 1 FROM jobs q
                             WHERE q.runbook_id = r.id AND q.status = 'queued')
              ORDER BY 1) l;
    RETURN QUERY
    WITH candidates AS (
        SELECT j.id, j.runbook_id, j.created_at, r.max_concurrent_jobs AS max_jobs
          FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
         WHERE j.status = 'queued'
           AND (j.target_server = p_server
                OR (j.target_server IS NULL
                    AND (CASE WHEN v_folders THEN j.runbook_id = ANY (v_free)
                              ELSE j.runbook_id <> ALL (v_assigned) END
                         OR j.runbook_id = ANY (v_mine))))
           AND (r.max_concurrent_jobs = 0
                OR r.max_concurrent_jobs > (SELECT count(*) FROM jobs x
                                             WHERE x.runbook_id = j.runbook_id
                                               AND x.status = 'running'))
         ORDER BY j.created_at
         LIMIT p_limit
         FOR UPDATE OF j SKIP LOCKED
    ),
    ranked AS (
        SELECT c.id, c.max_jobs,
               row_number() OVER (PARTITION BY c.runbook_id ORDER BY c.created_at) AS rn,
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
                  j.created_by, j.started_at, j.created_at
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
                       c.created_at AS created_at, 1 AS ord
                  FROM claimed c
                UNION ALL
                SELECT 'instance', c.started_at, c.runbook_id, c.id, c.instance_id,
                       jsonb_build_object('server', p_server, 'epoch', 1), c.created_at, 2
                  FROM claimed c) e
         ORDER BY e.created_at, e.job_id, e.ord
    ),
    me AS (
        UPDATE servers SET running = p_running + (SELECT count(*) FROM claimed)
         WHERE name = p_server AND EXISTS (SELECT 1 FROM claimed)
    )
    SELECT c.id, c.instance_id, c.runbook_id, c.runbook_version, r.path, r.name,
           c.parameters, c.created_by, c.started_at
      FROM claimed c JOIN runbooks r ON r.id = c.runbook_id
     ORDER BY c.created_at;
END;
$$;
