-- 0013: a cheaper claim (issue 21). orch_claim_jobs as in 0010, but what the
-- common case needs to know (anything queued, the server's activity types,
-- whether any folder or runbook has an assignment or a max_concurrent_jobs)
-- is one statement instead of five: with no assignment anywhere the
-- assignment arrays are not queried, and without a limited runbook the
-- advisory-lock statement is skipped. Same rules, same results.
CREATE OR REPLACE FUNCTION orch_claim_jobs(p_server text, p_limit integer, p_running integer,
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
