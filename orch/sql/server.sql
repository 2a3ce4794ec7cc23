-- Queries of the runbook server (orch/server/).

-- name: register_server
-- $1 name, $2 host, $3 pid, $4 capacity, $5 packs (jsonb). Returns the status
-- the server starts in: 'up', or 'maintenance' when an operator put it there
-- (the maintenance flag outlives restarts; `orch server maintenance NAME off`
-- clears it).
WITH up AS (
    INSERT INTO servers (name, status, host, pid, capacity, running, packs, started_at,
                         heartbeat_at)
    VALUES ($1, 'up', $2, $3, $4, 0, $5, now(), now())
    ON CONFLICT (name) DO UPDATE
       SET status = CASE WHEN servers.maintenance THEN 'maintenance' ELSE 'up' END,
           host = EXCLUDED.host, pid = EXCLUDED.pid,
           capacity = EXCLUDED.capacity, running = 0, packs = EXCLUDED.packs,
           started_at = now(), heartbeat_at = now(), push_until = NULL
    RETURNING name, status
),
ev AS (
    INSERT INTO events (kind, status, server, data)
    SELECT 'server', up.status, $1,
           jsonb_build_object('host', $2::text, 'pid', $3::int, 'capacity', $4::int)
      FROM up
)
SELECT status FROM up

-- name: release_previous_life
-- $1 server name. At start-up: instances a previous process of the same name
-- left running (it crashed or was killed) lose their owner, so they are
-- taken over and resumed (possibly by this very server), not forgotten.
WITH released AS (
    UPDATE instances SET server = NULL
     WHERE server = $1 AND status = 'running'
    RETURNING id, job_id
),
job_released AS (
    UPDATE jobs j SET claimed_by = NULL FROM released r WHERE j.id = r.job_id
),
-- the job's runbook read by key (the statement's snapshot: it does not change),
-- not from a join of the two CTEs (a nested loop over both, estimated at a row
-- each: quadratic in the instances released)
ev AS (
    INSERT INTO events (kind, runbook_id, job_id, instance_id, status, server, data)
    SELECT 'instance', j.runbook_id, r.job_id, r.id, 'running', $1,
           jsonb_build_object('released_by', $1::text)
      FROM released r JOIN jobs j ON j.id = r.job_id
)
SELECT count(*) FROM released

-- name: heartbeat
-- $1 name, $2 running count, $3 ids of the instances it runs, $4 their epochs,
-- $5 the status it believes it has ('up', 'maintenance' or 'draining'), $6 for
-- how many seconds from now it takes pushed jobs (insert_job; null: none — it
-- does not accept them, or its listener is not listening).
-- Returns the server's status (null: row gone, register again) and the ids of
-- those instances it no longer owns: taken over while it was paused or cut
-- off, it must stop them without writing (their writes are fenced anyway).
-- A server marked down by a peer that is heard from again comes back
-- 'draining' if it was draining, else as its maintenance flag says, with a
-- 'server' event saying so.
WITH was AS (
    SELECT status FROM servers WHERE name = $1
),
me AS (
    UPDATE servers
       SET heartbeat_at = now(), running = $2,
           push_until = now() + make_interval(secs => $6::float8),
           status = CASE WHEN status <> 'down' THEN status
                         WHEN $5 = 'draining' THEN 'draining'
                         WHEN maintenance THEN 'maintenance'
                         ELSE 'up' END
     WHERE name = $1
    RETURNING status
),
back AS (
    INSERT INTO events (kind, status, server, data)
    SELECT 'server', me.status, $1, jsonb_build_object('after', 'down')
      FROM was, me WHERE was.status = 'down'
)
SELECT (SELECT status FROM me) AS status,
       ARRAY(SELECT o.id::text
               FROM unnest($3::uuid[], $4::int[]) AS o(id, epoch)
              WHERE NOT EXISTS (SELECT 1 FROM instances i
                                 WHERE i.id = o.id AND i.server = $1
                                   AND i.epoch = o.epoch)) AS lost

-- name: server_status
-- $1 name; the status an operator may have changed (drain, maintenance)
SELECT status FROM servers WHERE name = $1

-- name: set_server_status
-- $1 name, $2 status ('up', 'draining', 'maintenance', 'stopped'), $3 running count
WITH s AS (
    UPDATE servers SET status = $2, running = $3, heartbeat_at = now()
     WHERE name = $1 AND status IS DISTINCT FROM $2
    RETURNING name
)
INSERT INTO events (kind, status, server) SELECT 'server', $2, name FROM s

-- name: mark_servers_down
-- $1 heartbeat timeout (seconds). One statement, so of several servers
-- noticing the same lapse exactly one marks it (and writes the event); it
-- NOTIFYs orch_instances so every server looks for instances to take over at
-- once (the first eligible standby wins, whoever noticed) — only when it marked
-- one (a pg_notify in FROM ran at every heartbeat of every server, waking every
-- server's claimer and takeover scan). Nobody is marked
-- down while the database itself has been up for less than the timeout: after
-- a database restart every server's heartbeat is old, and none is dead.
WITH down AS (
    UPDATE servers SET status = 'down'
     WHERE status IN ('up', 'draining', 'maintenance')
       AND heartbeat_at < now() - make_interval(secs => $1)
       AND pg_postmaster_start_time() < now() - make_interval(secs => $1)
    RETURNING name, heartbeat_at
),
ev AS (
    INSERT INTO events (kind, status, server, data)
    SELECT 'server', 'down', name, jsonb_build_object('last_heartbeat', heartbeat_at)
      FROM down
)
SELECT d.name, pg_notify('orch_instances', '') AS notified FROM down d

-- name: claim_jobs
-- $1 server, $2 most jobs to claim, $3 running count before the claim, $4 server timeout (s)
-- A server whose row does not say 'up' claims nothing (at most 0 jobs):
-- maintenance and drain hold even before the server has heard of them. (A
-- sub-select for the limit costs less than joining the servers row.)
SELECT job_id::text AS job_id, instance_id::text AS instance_id,
       runbook_id::text AS runbook_id, runbook_version, runbook_path, runbook_name,
       parameters, created_by::text AS created_by
  FROM orch_claim_jobs(
           $1,
           CASE WHEN (SELECT me.status FROM servers me WHERE me.name = $1) = 'up' THEN $2
                ELSE 0 END,
           $3, $4)

-- name: claim_jobs_fast
-- $1 server, $2 most jobs to claim, $3 running count before the claim.
-- The common case of claim_jobs, as lean as a claim can be (issue 21): one
-- plain statement (no PL/pgSQL, no prelude), the job rows and their instance
-- rows, nothing else. Whether it applies is part of the statement: no folder
-- or runbook has an assignment and no runbook has a max_concurrent_jobs, so
-- the rules reduce to the queue's order, the job's target, its not_before and
-- gate, the runbook being enabled and the server's activity types. Otherwise
-- (or when the server is not 'up' or has no row) it claims nothing and answers
-- one row whose job_id is null: the caller then claims with claim_jobs, which
-- has every rule. The job's and the instance's 'running' events are not
-- written here but by the instance's first group commit, ahead of its first
-- run's (GroupCommitWriter.claimed; a takeover writes them if that commit
-- never came). Committed asynchronously, like orch_claim_jobs.
WITH me AS (
    SELECT s.activity_types AS types,
           set_config('synchronous_commit', 'off', true) IS NOT NULL
           AND s.status = 'up'
           AND NOT EXISTS (SELECT 1 FROM folder_servers)
           AND NOT EXISTS (SELECT 1 FROM runbook_servers)
           AND NOT EXISTS (SELECT 1 FROM runbooks l WHERE l.max_concurrent_jobs > 0) AS fast
      FROM servers s WHERE s.name = $1
),
candidates AS (
    SELECT j.id
      FROM me, jobs j JOIN runbooks r ON r.id = j.runbook_id
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
     WHERE me.fast
       AND j.status = 'queued'
       AND r.disabled_at IS NULL
       AND (j.not_before IS NULL OR j.not_before <= clock_timestamp())
       AND (v.schedule_name IS NULL OR j.gate_until > orch_now())
       AND (v.activity_types IS NULL OR v.activity_types <@ me.types)
       AND (j.target_server IS NULL OR j.target_server = $1)
     ORDER BY j.priority DESC, j.created_at
     LIMIT $2
       FOR UPDATE OF j SKIP LOCKED
),
claimed AS (
    UPDATE jobs j
       SET status = 'running', claimed_by = $1, started_at = clock_timestamp(),
           waiting_reason = NULL, instance_id = gen_random_uuid()
      FROM candidates c
     WHERE j.id = c.id
    RETURNING j.id, j.instance_id, j.runbook_id, j.runbook_version, j.parameters,
              j.created_by, j.started_at, j.created_at, j.priority
),
new_instances AS (
    INSERT INTO instances (id, job_id, server, epoch, status, started_at)
    SELECT c.instance_id, c.id, $1, 1, 'running', c.started_at FROM claimed c
),
counted AS (
    UPDATE servers SET running = $3 + (SELECT count(*) FROM claimed)
     WHERE name = $1 AND EXISTS (SELECT 1 FROM claimed)
)
(SELECT c.id::text AS job_id, c.instance_id::text AS instance_id,
        c.runbook_id::text AS runbook_id, c.runbook_version, r.path AS runbook_path,
        r.name AS runbook_name, c.parameters, c.created_by::text AS created_by
   FROM claimed c JOIN runbooks r ON r.id = c.runbook_id
  ORDER BY c.priority DESC, c.created_at)
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
 WHERE NOT coalesce((SELECT me.fast FROM me), false)

-- name: claim_instances
-- $1 server, $2 most instances, $3 server timeout (s). Takes over running
-- instances that have no live owner: released (hand-over, drain, resume of a
-- failed instance), or owned by a server marked down/stopped. The epoch bump
-- fences the previous owner. Eligibility follows the runbook's assignment,
-- except for an instance someone asked to stop: any server with its activity
-- types may take it, just to record its stop. The update re-checks the owner, so an instance another
-- server took meanwhile is left alone. Its event names the server it was
-- taken from and why ('down', 'stopped', 'released', 'resumed').
WITH candidates AS (
    SELECT i.id, i.server AS previous, s.status AS previous_status, j.claimed_by AS claimer,
           i.started_at, i.triggered_by, j.runbook_id
      FROM instances i
      JOIN jobs j ON j.id = i.job_id
      LEFT JOIN servers s ON s.name = i.server
     WHERE i.status = 'running'
       AND (i.server IS NULL OR s.name IS NULL OR s.status IN ('down', 'stopped'))
       AND (j.stop_requested_at IS NOT NULL
            OR orch_may_run(j.runbook_id, j.target_server, $1, $3))
       -- capability matching: only a server with every activity type it uses
       -- (even to stop it: the instance is rebuilt from its runbook version)
       AND coalesce((SELECT v.activity_types FROM runbook_versions v
                      WHERE v.runbook_id = j.runbook_id
                        AND v.version = j.runbook_version), '{}')
           <@ (SELECT me.activity_types FROM servers me WHERE me.name = $1)
       -- only a server whose row says 'up' takes over (maintenance, drain)
       AND EXISTS (SELECT 1 FROM servers me WHERE me.name = $1 AND me.status = 'up')
     ORDER BY i.started_at
     LIMIT $2
       FOR UPDATE OF i SKIP LOCKED
),
-- The candidates are locked (their status and owner re-checked as they were):
-- the update finds each by its key, with no "status = 'running'" that would let
-- the plan read every running instance once per candidate; and the events read
-- taken alone, no join of two CTEs (a nested loop over both, estimated at a row
-- each): both quadratic in a takeover (tests/integration/test_outcome_plans.py).
taken AS (
    UPDATE instances i SET server = $1, epoch = i.epoch + 1
      FROM candidates c
     WHERE i.id = c.id AND i.server IS NOT DISTINCT FROM c.previous
    RETURNING i.id, i.job_id, i.epoch, c.previous, c.previous_status, c.claimer,
              c.started_at, c.triggered_by, c.runbook_id
),
job_taken AS (
    UPDATE jobs j SET claimed_by = $1 FROM taken t WHERE j.id = t.job_id
),
-- A job claimed by claim_jobs_fast whose owner died before the instance's first
-- group commit has none of its claim's events: they are written first, as the
-- claim would have (claimed by, epoch 1, at the claim's time). (An instance
-- released at shutdown before its first commit has lost its claimer with the
-- release, which clears jobs.claimed_by: its claim events name no server.)
ev AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, status, server, data)
    SELECT e.kind, e.at, e.runbook_id, e.job_id, e.instance_id, 'running', e.server, e.data
      FROM (SELECT k.kind, t.started_at AS at, t.runbook_id, t.job_id, t.id AS instance_id,
                   t.claimer AS server, k.data, k.sub AS ord
              FROM taken t
             CROSS JOIN LATERAL orch_claim_events(t.claimer) AS k
             WHERE t.triggered_by IS NULL AND t.epoch = 2
               AND NOT EXISTS (SELECT 1 FROM events x
                                WHERE x.job_id = t.job_id AND x.instance_id = t.id
                                  AND x.kind = 'job')
            UNION ALL
            SELECT 'instance', clock_timestamp(), t.runbook_id, t.job_id, t.id, $1,
                   jsonb_build_object(
                       'taken_over_from',
                       coalesce(t.previous, rel.data->>'released_by',
                                rel.data->>'resumed_from'),
                       'epoch', t.epoch,
                       'reason', CASE WHEN t.previous IS NOT NULL
                                          THEN coalesce(t.previous_status, 'unregistered')
                                      WHEN rel.data ? 'resumed_by' THEN 'resumed'
                                      ELSE 'released' END),
                   3
              FROM taken t
              LEFT JOIN LATERAL (
                  SELECT e.data FROM events e
                   WHERE e.job_id = t.job_id AND e.instance_id = t.id AND t.previous IS NULL
                     AND (e.data ? 'released_by' OR e.data ? 'resumed_by')
                   ORDER BY e.seq DESC
                   LIMIT 1) rel ON true) e
     ORDER BY e.instance_id, e.ord
)
SELECT id::text AS instance_id, job_id::text AS job_id, epoch FROM taken

-- name: release_instances
-- $1 server, $2 instance ids. Hand-over: the instances keep running in the
-- database without an owner; another server takes them over (claim_instances)
-- and resumes each after its last recorded activity. Wakes the servers.
WITH released AS (
    UPDATE instances SET server = NULL
     WHERE id = ANY($2::uuid[]) AND server = $1 AND status = 'running'
    RETURNING id, job_id
),
job_released AS (
    UPDATE jobs j SET claimed_by = NULL FROM released r WHERE j.id = r.job_id
),
-- the job's runbook read by key (the statement's snapshot: it does not change),
-- not from a join of the two CTEs (a nested loop over both, estimated at a row
-- each: quadratic in the instances released)
ev AS (
    INSERT INTO events (kind, runbook_id, job_id, instance_id, status, server, data)
    SELECT 'instance', j.runbook_id, r.job_id, r.id, 'running', $1,
           jsonb_build_object('released_by', $1::text)
      FROM released r JOIN jobs j ON j.id = r.job_id
)
SELECT (SELECT count(*) FROM released) AS released, pg_notify('orch_instances', '') AS notified

-- name: pushed_unstarted
-- $1 server. The jobs pushed to it (insert_job) that it never started: claimed
-- by it, their instance (epoch 1) its own and running, without the claim
-- events the instance's first group commit writes. Read at each (re)connect of
-- its listener, so a push notified while it was not listening is not lost. (An
-- instance it claimed lean and runs looks the same until its first commit: the
-- server skips the instances it runs.) The instance is the job's, found by key:
-- its server and status are compared with the job's (IS NOT DISTINCT FROM, no
-- restriction on instances), so no plan reads this server's running instances
-- once per job, as it did when the statistics put them at one row
-- (tests/integration/test_outcome_plans.py).
SELECT j.id::text AS job_id, i.id::text AS instance_id, j.runbook_id::text AS runbook_id,
       j.runbook_version, r.path AS runbook_path, r.name AS runbook_name, j.parameters,
       j.created_by::text AS created_by
  FROM jobs j
  JOIN instances i ON i.id = j.instance_id
  JOIN runbooks r ON r.id = j.runbook_id
 WHERE j.claimed_by = $1 AND j.status = 'running'
   AND i.server IS NOT DISTINCT FROM j.claimed_by AND i.status IS NOT DISTINCT FROM j.status
   AND i.epoch = 1 AND i.triggered_by IS NULL
   AND NOT EXISTS (SELECT 1 FROM events e
                    WHERE e.job_id = j.id AND e.instance_id = i.id AND e.kind = 'job')
 ORDER BY j.started_at

-- name: stop_requests
-- $1 server; its running jobs someone asked to stop
SELECT id::text FROM jobs
 WHERE claimed_by = $1 AND status = 'running' AND stop_requested_at IS NOT NULL

-- name: next_back_off
-- Seconds until the earliest not_before still ahead among queued jobs (a
-- retry's back-off), or null. Nothing notifies when a back-off ends: the
-- server wakes its claimer then, not at its next poll.
SELECT extract(epoch FROM min(not_before) - clock_timestamp())::float8
  FROM jobs
 WHERE status = 'queued' AND not_before > clock_timestamp()

-- name: update_waiting_reasons
-- $1 server timeout (s). Says why each queued job waits (null: a server can
-- take it now); rows whose reason is unchanged are not touched. A retry's
-- back-off and a closed schedule gate keep the reason written with them
-- (jobs_retry, orch/db/gate.py: it names the next window).
WITH srv AS (
    SELECT name,
           status = 'up' AND heartbeat_at > now() - make_interval(secs => $1) AS alive,
           running >= capacity AS full,
           activity_types AS types
      FROM servers
),
busy AS (
    SELECT runbook_id, count(*) AS n FROM jobs WHERE status = 'running' GROUP BY runbook_id
),
reasons AS (
    SELECT j.id,
           CASE
           WHEN r.disabled_at IS NOT NULL THEN 'runbook disabled'
           WHEN j.not_before > clock_timestamp() THEN j.waiting_reason
           WHEN v.schedule_name IS NOT NULL
                AND (j.gate_until IS NULL OR j.gate_until <= orch_now()) THEN
               coalesce(j.waiting_reason, format('outside schedule %L', v.schedule_name))
           WHEN r.max_concurrent_jobs > 0 AND coalesce(b.n, 0) >= r.max_concurrent_jobs THEN
               format('runbook at max_concurrent_jobs (%s)', r.max_concurrent_jobs)
           -- capability matching: no live server has every activity type it uses
           WHEN v.activity_types IS NOT NULL AND EXISTS (SELECT 1 FROM srv s WHERE s.alive)
                AND NOT EXISTS (SELECT 1 FROM srv s
                                 WHERE s.alive AND v.activity_types <@ s.types) THEN
               -- interpreters (run_script's 'interpreter:NAME') are named as such
               (SELECT CASE WHEN count(*) = 0
                            THEN 'no available runbook server has every activity type it uses'
                            WHEN bool_and(m.t LIKE 'interpreter:%') THEN
                                format('no available runbook server has interpreter %s',
                                       string_agg(substr(m.t, 13), ', ' ORDER BY m.t))
                            ELSE format('no available runbook server has pack %s (activity '
                                        'types %s)',
                                        string_agg(DISTINCT split_part(m.t, ':', 1), ', '),
                                        string_agg(m.t, ', ' ORDER BY m.t))
                       END
                  FROM unnest(v.activity_types) AS m(t)
                 WHERE NOT EXISTS (SELECT 1 FROM srv s WHERE s.alive AND m.t = ANY (s.types)))
           WHEN j.target_server IS NOT NULL THEN
               (SELECT CASE WHEN s.name IS NULL OR NOT s.alive
                                THEN format('server %s is not available', j.target_server)
                            WHEN s.full THEN format('server %s at capacity', j.target_server)
                       END
                  FROM (SELECT 1) AS one LEFT JOIN srv s ON s.name = j.target_server)
           WHEN EXISTS (SELECT 1 FROM runbook_assignment rs WHERE rs.runbook_id = j.runbook_id) THEN
               (SELECT CASE WHEN bool_or(s.alive AND NOT s.full) THEN NULL
                            WHEN bool_or(s.alive) THEN
                                format('server %s at capacity',
                                       string_agg(s.name, ', ' ORDER BY rs.position)
                                           FILTER (WHERE s.alive))
                            ELSE 'no assigned runbook server is available'
                       END
                  FROM runbook_assignment rs LEFT JOIN srv s ON s.name = rs.server_name
                 WHERE rs.runbook_id = j.runbook_id)
           ELSE
               (SELECT CASE WHEN bool_or(s.alive AND NOT s.full) THEN NULL
                            WHEN bool_or(s.alive) THEN
                                format('server %s at capacity',
                                       string_agg(s.name, ', ' ORDER BY s.name)
                                           FILTER (WHERE s.alive))
                            ELSE 'no runbook server is available'
                       END
                  FROM srv s)
           END AS reason
      FROM jobs j
      JOIN runbooks r ON r.id = j.runbook_id
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
      LEFT JOIN busy b ON b.runbook_id = j.runbook_id
     WHERE j.status = 'queued'
)
UPDATE jobs j SET waiting_reason = x.reason
  FROM reasons x
 WHERE j.id = x.id AND j.status = 'queued' AND j.waiting_reason IS DISTINCT FROM x.reason
