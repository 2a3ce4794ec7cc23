-- The PostgreSQL store of the actor runtime (orch/db/store.py, orch/db/writer.py).

-- name: write_batch
-- $1 server name; owners: $2 instance ids, $3 their epochs;
-- runs written in full (a start, or a start with its result): $4 run_id, $5 instance_id,
-- $6 activity, $7 parent_run, $8 item, $9 attempt, $10 status, $11 published, $12 lineage,
-- $13 started_at, $14 ended_at, $15 error, $16 start event order (null: no start in this
-- batch), $17 result event order (null: no result in this batch), $18 returned_data;
-- results of runs whose start is not known here (recorded before a takeover):
-- $19 run_id, $20 instance_id, $21 status, $22 published, $23 ended_at, $24 error, $25 order,
-- $26 returned_data;
-- outcomes: $27 instance_id, $28 status, $29 returned_data, $30 ended_at, $31 error, $32 order;
-- $33 the server's running count to record (null: leave it);
-- $34 instances claimed by claim_jobs_fast whose claim events ('job' and
-- 'instance' running) this batch writes, $35 their orders (each its instance's
-- first record in the batch: the claim's events come just before it).
-- One statement, so one round trip and one commit for everything in the batch.
-- Writes count only for instances this server owns at the given epoch (fencing);
-- the instance rows are share-locked so a takeover waits for this commit or
-- fences it. Returns the instance ids that were fenced.
-- The owner (server) is a column of owners, so "i.server = o.server" is a join
-- condition: as a restriction ("i.server = $1") the statistics could put this
-- server's instances at one row (a new server name, or none seen when they
-- were taken), and the plan scanned them once per owner — quadratic in the
-- batch (tests/integration/test_outcome_plans.py).
WITH owners AS (
    SELECT o.*, $1::text AS server
      FROM unnest($2::uuid[], $3::int[]) AS o(instance_id, epoch)
),
live AS (
    SELECT i.id, i.job_id, j.runbook_id, i.triggered_by, i.started_at, i.status,
           j.status AS job_status
      FROM owners o
      JOIN instances i
        ON i.id = o.instance_id AND i.epoch = o.epoch AND i.server = o.server
      JOIN jobs j ON j.id = i.job_id
       FOR SHARE OF i
),
runs AS (
    SELECT r.*, l.job_id, l.runbook_id
      FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::uuid[], $8::int[], $9::int[],
                  $10::text[], $11::jsonb[], $12::bytea[], $13::timestamptz[],
                  $14::timestamptz[], $15::text[], $16::int[], $17::int[], $18::jsonb[])
           AS r(run_id, instance_id, activity, parent_run, item, attempt, status, published,
                lineage, started_at, ended_at, error, start_ord, result_ord, returned_data)
      JOIN live l ON l.id = r.instance_id
),
written AS (
    INSERT INTO activity_runs (run_id, instance_id, activity, parent_run, item, attempt,
                               status, published, returned_data, lineage, started_at,
                               ended_at, error)
    SELECT run_id, instance_id, activity, parent_run, item, attempt, status, published,
           returned_data, lineage, started_at, ended_at, error
      FROM runs ORDER BY coalesce(start_ord, result_ord)
    ON CONFLICT (run_id) DO UPDATE
       SET status = EXCLUDED.status, published = EXCLUDED.published,
           returned_data = EXCLUDED.returned_data, ended_at = EXCLUDED.ended_at,
           error = EXCLUDED.error
     WHERE activity_runs.status = 'running'
),
results AS (
    SELECT r.*, l.job_id, l.runbook_id
      FROM unnest($19::uuid[], $20::uuid[], $21::text[], $22::jsonb[], $23::timestamptz[],
                  $24::text[], $25::int[], $26::jsonb[])
           AS r(run_id, instance_id, status, published, ended_at, error, ord, returned_data)
      JOIN live l ON l.id = r.instance_id
),
updated AS (
    UPDATE activity_runs a
       SET status = r.status, published = r.published, returned_data = r.returned_data,
           ended_at = r.ended_at, error = r.error
      FROM results r
     WHERE a.run_id = r.run_id AND a.instance_id = r.instance_id
    -- what the result's event needs, so that it reads no join of two CTEs (a
    -- nested loop over both: quadratic in a batch's results)
    RETURNING a.run_id, a.activity, r.ended_at, r.runbook_id, r.job_id, r.instance_id,
              r.status, r.error, r.ord
),
outcomes AS (
    SELECT o.*, l.job_id, l.runbook_id, l.triggered_by, l.status AS instance_was,
           l.job_status AS job_was
      FROM unnest($27::uuid[], $28::text[], $29::jsonb[], $30::timestamptz[], $31::text[],
                  $32::int[])
           AS o(instance_id, status, returned_data, ended_at, error, ord)
      JOIN live l ON l.id = o.instance_id
),
-- The instances and jobs still running are told by the statuses live read (the
-- instance's row is share-locked: it cannot change before this commit; the
-- job's is checked again as it is updated, with IS NOT DISTINCT FROM, which
-- the planner does not turn into "status = 'running'"), never by that literal
-- on the updated table: with it PostgreSQL may drive the update from the
-- partial indexes on running rows, and after an ANALYZE that saw none running,
-- its generic plan read every running row once per outcome — quadratic in the
-- server's concurrency (tests/integration/test_outcome_plans.py).
ended_instances AS (
    UPDATE instances i
       SET status = o.status, returned_data = o.returned_data, ended_at = o.ended_at,
           error = o.error
      FROM outcomes o
     WHERE i.id = o.instance_id AND o.instance_was = 'running'
),
ended_jobs AS (
    UPDATE jobs j
       SET status = o.status, returned_data = o.returned_data, ended_at = o.ended_at
      FROM outcomes o
     WHERE j.id = o.job_id AND o.job_was = 'running' AND j.status IS NOT DISTINCT FROM o.job_was
       -- a monitor job ends with its monitor instance, not with a trigger's instance
       AND CASE WHEN j.is_monitor THEN o.triggered_by IS NULL
                ELSE j.instance_id = o.instance_id END
    -- status: 'queued' again when the jobs_retry trigger re-queued a failed job;
    -- what the job's event needs, so that it reads no join of two CTEs (a
    -- nested loop over both: quadratic in a batch's outcomes)
    RETURNING j.id, o.ord, j.status, j.retries, j.not_before, o.ended_at, j.runbook_id
),
me AS (
    UPDATE servers SET running = $33 WHERE name = $1 AND $33::int IS NOT NULL
),
new_events AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, activity, run_id, status,
                        server, data)
    SELECT e.kind, e.at, e.runbook_id, e.job_id, e.instance_id, e.activity, e.run_id,
           e.status, $1, e.data
      FROM (SELECT 'activity' AS kind, r.started_at AS at, r.runbook_id, r.job_id,
                   r.instance_id, r.activity, r.run_id, 'running' AS status,
                   NULL::jsonb AS data, r.start_ord AS ord, 0 AS sub
              FROM runs r WHERE r.start_ord IS NOT NULL
            UNION ALL
            SELECT 'activity', r.ended_at, r.runbook_id, r.job_id, r.instance_id, r.activity,
                   r.run_id, r.status,
                   CASE WHEN r.error IS NULL THEN NULL
                        ELSE jsonb_build_object('error', r.error) END,
                   r.result_ord, 0
              FROM runs r WHERE r.result_ord IS NOT NULL
            UNION ALL
            SELECT 'activity', u.ended_at, u.runbook_id, u.job_id, u.instance_id, u.activity,
                   u.run_id, u.status,
                   CASE WHEN u.error IS NULL THEN NULL
                        ELSE jsonb_build_object('error', u.error) END,
                   u.ord, 0
              FROM updated u
            UNION ALL
            SELECT 'instance', o.ended_at, o.runbook_id, o.job_id, o.instance_id, NULL, NULL,
                   o.status,
                   CASE WHEN o.error IS NULL THEN NULL
                        ELSE jsonb_build_object('error', o.error) END,
                   o.ord, 0
              FROM outcomes o
            UNION ALL
            SELECT 'job', ej.ended_at, ej.runbook_id, ej.id, NULL, NULL, NULL, ej.status,
                   CASE WHEN ej.status = 'queued'
                        THEN jsonb_build_object('retry', ej.retries, 'not_before', ej.not_before)
                   END,
                   ej.ord, 1
              FROM ended_jobs ej
            UNION ALL
            SELECT k.kind, l.started_at, l.runbook_id, l.job_id, l.id, NULL, NULL, 'running',
                   k.data, c.ord, k.sub
              FROM unnest($34::uuid[], $35::int[]) AS c(instance_id, ord)
              JOIN live l ON l.id = c.instance_id
             CROSS JOIN orch_claim_events($1) AS k) e
     ORDER BY e.ord, e.sub
)
SELECT o.instance_id::text
  FROM owners o
 WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.id = o.instance_id)

-- name: write_runs_json
-- The common case of write_batch: runs only, no results of runs recorded
-- elsewhere, no outcomes — fewer nodes. $1 server, $2 instance ids, $3 their
-- epochs, $4 the runs: UTF-8 JSON bytes, an array of objects named like the
-- columns of write_batch's $4..$18 (lineage in base64), $5 and $6 the claims
-- whose events this batch writes (write_batch's $34 and $35). One document encoded
-- by msgspec instead of fifteen arrays asyncpg checks and encodes element by
-- element (3x the server's CPU for a 600-run batch; issue 21).
WITH owners AS (  -- the server a column, as in write_batch
    SELECT o.*, $1::text AS server
      FROM unnest($2::uuid[], $3::int[]) AS o(instance_id, epoch)
),
live AS (
    SELECT i.id, i.job_id, j.runbook_id, i.started_at
      FROM owners o
      JOIN instances i
        ON i.id = o.instance_id AND i.epoch = o.epoch AND i.server = o.server
      JOIN jobs j ON j.id = i.job_id
       FOR SHARE OF i
),
runs AS (
    SELECT r.run_id, r.instance_id, r.activity, r.parent_run, r.item, r.attempt, r.status,
           r.published, decode(r.lineage, 'base64') AS lineage, r.started_at, r.ended_at,
           r.error, r.start_ord, r.result_ord, r.returned_data, l.job_id, l.runbook_id
      FROM json_to_recordset(convert_from($4::bytea, 'UTF8')::json)
           AS r(run_id uuid, instance_id uuid, activity text, parent_run uuid, item int,
                attempt int, status text, published jsonb, lineage text,
                started_at timestamptz, ended_at timestamptz, error text, start_ord int,
                result_ord int, returned_data jsonb)
      JOIN live l ON l.id = r.instance_id
),
written AS (
    INSERT INTO activity_runs (run_id, instance_id, activity, parent_run, item, attempt,
                               status, published, returned_data, lineage, started_at,
                               ended_at, error)
    SELECT run_id, instance_id, activity, parent_run, item, attempt, status, published,
           returned_data, lineage, started_at, ended_at, error
      FROM runs ORDER BY coalesce(start_ord, result_ord)
    ON CONFLICT (run_id) DO UPDATE
       SET status = EXCLUDED.status, published = EXCLUDED.published,
           returned_data = EXCLUDED.returned_data, ended_at = EXCLUDED.ended_at,
           error = EXCLUDED.error
     WHERE activity_runs.status = 'running'
),
new_events AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, activity, run_id, status,
                        server, data)
    SELECT e.kind, e.at, e.runbook_id, e.job_id, e.instance_id, e.activity, e.run_id,
           e.status, $1, e.data
      FROM (SELECT 'activity' AS kind, r.started_at AS at, r.runbook_id, r.job_id,
                   r.instance_id, r.activity, r.run_id, 'running' AS status,
                   NULL::jsonb AS data, r.start_ord AS ord, 0 AS sub
              FROM runs r WHERE r.start_ord IS NOT NULL
            UNION ALL
            SELECT 'activity', r.ended_at, r.runbook_id, r.job_id, r.instance_id, r.activity,
                   r.run_id, r.status,
                   CASE WHEN r.error IS NULL THEN NULL
                        ELSE jsonb_build_object('error', r.error) END,
                   r.result_ord, 0
              FROM runs r WHERE r.result_ord IS NOT NULL
            UNION ALL
            SELECT k.kind, l.started_at, l.runbook_id, l.job_id, l.id, NULL, NULL, 'running',
                   k.data, c.ord, k.sub
              FROM unnest($5::uuid[], $6::int[]) AS c(instance_id, ord)
              JOIN live l ON l.id = c.instance_id
             CROSS JOIN orch_claim_events($1) AS k) e
     ORDER BY e.ord, e.sub
)
SELECT o.instance_id::text
  FROM owners o
 WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.id = o.instance_id)

-- name: write_run
-- One run of one instance, the sequential path's every step: $1 server name,
-- $2 instance id, $3 its epoch, $4 run_id, $5 activity, $6 parent_run, $7 item,
-- $8 attempt, $9 status, $10 published, $11 lineage, $12 started_at, $13 ended_at,
-- $14 error, $15 start event order (null: the start went in an earlier batch),
-- $16 result event order (null: a start alone), $17 returned_data, $18 quiet: no
-- NOTIFY of orch_events at this commit (a lone instance's step soon after a
-- notifying one: orch/db/feed_wake.py). What write_runs_json does for one row,
-- with plain parameters (no arrays to unnest), for an instance whose claim
-- events are written (else write_claimed_run); returns whether the instance was
-- fenced. Its events are two rows of VALUES in record order (start, result):
-- no union with the claim's events and no sort, ~15-30 µs less a step than
-- write_claimed_run (issue 21).
WITH live AS (
    SELECT i.id, i.job_id, j.runbook_id
      FROM instances i
      JOIN jobs j ON j.id = i.job_id
     WHERE i.id = $2::uuid AND i.epoch = $3::int AND i.server = $1
       AND ($18::boolean IS NOT TRUE
            OR (SELECT set_config('orch.events_quiet', 'on', true)) IS NOT NULL)
       FOR SHARE OF i
),
written AS (
    INSERT INTO activity_runs (run_id, instance_id, activity, parent_run, item, attempt,
                               status, published, returned_data, lineage, started_at,
                               ended_at, error)
    SELECT $4::uuid, l.id, $5::text, $6::uuid, $7::int, $8::int, $9::text, $10::jsonb,
           $17::jsonb, $11::bytea, $12::timestamptz, $13::timestamptz, $14::text
      FROM live l
    ON CONFLICT (run_id) DO UPDATE
       SET status = EXCLUDED.status, published = EXCLUDED.published,
           returned_data = EXCLUDED.returned_data, ended_at = EXCLUDED.ended_at,
           error = EXCLUDED.error
     WHERE activity_runs.status = 'running'
),
new_events AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, activity, run_id, status,
                        server, data)
    SELECT 'activity', v.at, l.runbook_id, l.job_id, l.id, $5::text, $4::uuid, v.status, $1,
           v.data
      FROM live l,
           (VALUES ($15::int, $12::timestamptz, 'running', NULL::jsonb),
                   ($16::int, $13::timestamptz, $9::text,
                    CASE WHEN $14::text IS NULL THEN NULL
                         ELSE jsonb_build_object('error', $14::text) END))
           AS v(ord, at, status, data)
     WHERE v.ord IS NOT NULL
)
SELECT NOT EXISTS (SELECT 1 FROM live)

-- name: write_claimed_run
-- write_run (same $1..$18) for the instance's first record after a lean claim
-- (claim_jobs_fast) or a push: the instance's claim events ('job' and
-- 'instance' running) go first, then the run's.
WITH live AS (
    SELECT i.id, i.job_id, j.runbook_id, i.started_at
      FROM instances i
      JOIN jobs j ON j.id = i.job_id
     WHERE i.id = $2::uuid AND i.epoch = $3::int AND i.server = $1
       AND ($18::boolean IS NOT TRUE
            OR (SELECT set_config('orch.events_quiet', 'on', true)) IS NOT NULL)
       FOR SHARE OF i
),
written AS (
    INSERT INTO activity_runs (run_id, instance_id, activity, parent_run, item, attempt,
                               status, published, returned_data, lineage, started_at,
                               ended_at, error)
    SELECT $4::uuid, l.id, $5::text, $6::uuid, $7::int, $8::int, $9::text, $10::jsonb,
           $17::jsonb, $11::bytea, $12::timestamptz, $13::timestamptz, $14::text
      FROM live l
    ON CONFLICT (run_id) DO UPDATE
       SET status = EXCLUDED.status, published = EXCLUDED.published,
           returned_data = EXCLUDED.returned_data, ended_at = EXCLUDED.ended_at,
           error = EXCLUDED.error
     WHERE activity_runs.status = 'running'
),
new_events AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, activity, run_id, status,
                        server, data)
    SELECT e.kind, e.at, l.runbook_id, l.job_id, l.id, e.activity, e.run_id, e.status, $1,
           e.data
      FROM live l
     CROSS JOIN LATERAL (
           SELECT k.sub AS ord, k.kind, l.started_at AS at, NULL::text AS activity,
                  NULL::uuid AS run_id, 'running' AS status, k.data
             FROM orch_claim_events($1) AS k
           UNION ALL
           SELECT v.ord, 'activity', v.at, $5::text, $4::uuid, v.status, v.data
             FROM (VALUES ($15::int, $12::timestamptz, 'running', NULL::jsonb),
                          ($16::int, $13::timestamptz, $9::text,
                           CASE WHEN $14::text IS NULL THEN NULL
                                ELSE jsonb_build_object('error', $14::text) END))
                  AS v(ord, at, status, data)
            WHERE v.ord IS NOT NULL) e
     ORDER BY e.ord
)
SELECT NOT EXISTS (SELECT 1 FROM live)

-- name: write_final_run
-- The last record of a lone instance: its last run (a start with its result,
-- or a result whose start an earlier batch carried) and the instance's outcome,
-- with plain parameters — what write_batch does for these three records without
-- its arrays (unnesting fifteen arrays cost a lone chain's last step more than
-- its rows). $1 server name, $2 instance id, $3 its epoch, $4 run_id,
-- $5 activity, $6 parent_run, $7 item, $8 attempt, $9 the run's status,
-- $10 published, $11 lineage, $12 started_at, $13 the run's ended_at, $14 its
-- error, $15 start event order (0; null: the start went in an earlier batch),
-- $16 the run's returned_data, $17 whether the instance's claim events go first
-- (claim_jobs_fast), $18 the instance's status, $19 its returned data,
-- $20 its ended_at, $21 its error, $22 the server's running count to record
-- (null: leave it). Events in write_batch's order: the claim's, the run's start
-- and result, the instance's end, the job's end (or its retry). Returns whether
-- the instance was fenced.
WITH live AS (
    SELECT i.id, i.job_id, j.runbook_id, i.triggered_by, i.started_at, i.status,
           j.status AS job_status
      FROM instances i
      JOIN jobs j ON j.id = i.job_id
     WHERE i.id = $2::uuid AND i.epoch = $3::int AND i.server = $1
       FOR SHARE OF i
),
written AS (
    INSERT INTO activity_runs (run_id, instance_id, activity, parent_run, item, attempt,
                               status, published, returned_data, lineage, started_at,
                               ended_at, error)
    SELECT $4::uuid, l.id, $5::text, $6::uuid, $7::int, $8::int, $9::text, $10::jsonb,
           $16::jsonb, $11::bytea, $12::timestamptz, $13::timestamptz, $14::text
      FROM live l
    ON CONFLICT (run_id) DO UPDATE
       SET status = EXCLUDED.status, published = EXCLUDED.published,
           returned_data = EXCLUDED.returned_data, ended_at = EXCLUDED.ended_at,
           error = EXCLUDED.error
     WHERE activity_runs.status = 'running'
),
ended_instance AS (
    UPDATE instances i
       SET status = $18::text, returned_data = $19::jsonb, ended_at = $20::timestamptz,
           error = $21::text
      FROM live l
     -- the statuses live read, as in write_batch (a literal let the plan read
     -- every running instance and job)
     WHERE i.id = l.id AND l.status = 'running'
),
ended_job AS (
    UPDATE jobs j
       SET status = $18::text, returned_data = $19::jsonb, ended_at = $20::timestamptz
      FROM live l
     WHERE j.id = l.job_id AND l.job_status = 'running'
       AND j.status IS NOT DISTINCT FROM l.job_status
       -- a monitor job ends with its monitor instance, not with a trigger's instance
       AND CASE WHEN j.is_monitor THEN l.triggered_by IS NULL ELSE j.instance_id = l.id END
    -- status: 'queued' again when the jobs_retry trigger re-queued a failed job
    RETURNING j.status, j.retries, j.not_before
),
me AS (
    UPDATE servers SET running = $22 WHERE name = $1 AND $22::int IS NOT NULL
),
new_events AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, activity, run_id, status,
                        server, data)
    SELECT e.kind, e.at, l.runbook_id, l.job_id, e.instance_id, e.activity, e.run_id,
           e.status, $1, e.data
      FROM live l
     CROSS JOIN LATERAL (
           SELECT k.sub AS ord, k.kind, l.started_at AS at, l.id AS instance_id,
                  NULL::text AS activity, NULL::uuid AS run_id, 'running' AS status, k.data
             FROM orch_claim_events($1) AS k WHERE $17::boolean
           UNION ALL
           SELECT v.ord, 'activity', v.at, l.id, $5::text, $4::uuid, v.status, v.data
             FROM (VALUES ($15::int, $12::timestamptz, 'running', NULL::jsonb),
                          (1, $13::timestamptz, $9::text,
                           CASE WHEN $14::text IS NULL THEN NULL
                                ELSE jsonb_build_object('error', $14::text) END))
                  AS v(ord, at, status, data)
            WHERE v.ord IS NOT NULL
           UNION ALL
           SELECT 2, 'instance', $20::timestamptz, l.id, NULL, NULL, $18::text,
                  CASE WHEN $21::text IS NULL THEN NULL
                       ELSE jsonb_build_object('error', $21::text) END
           UNION ALL
           SELECT 3, 'job', $20::timestamptz, NULL, NULL, NULL, ej.status,
                  CASE WHEN ej.status = 'queued'
                       THEN jsonb_build_object('retry', ej.retries, 'not_before', ej.not_before)
                  END
             FROM ended_job ej) e
     ORDER BY e.ord
)
SELECT NOT EXISTS (SELECT 1 FROM live)

-- name: notify_events
-- Wake the live feed's readers: after a quiet commit that ended later than a
-- reader keeps polling for (orch/db/feed_wake.py).
SELECT pg_notify('orch_events', '')

-- name: load_instance
-- $1 instance id; everything to build (or rebuild, after a takeover) an instance
SELECT i.id::text AS instance_id, i.job_id::text AS job_id, i.epoch, i.server,
       j.runbook_id::text AS runbook_id, r.name AS runbook_name, r.path AS runbook_path,
       j.runbook_version, v.document::text AS document, j.parameters,
       j.created_by::text AS started_by
  FROM instances i
  JOIN jobs j ON j.id = i.job_id
  JOIN runbooks r ON r.id = j.runbook_id
  JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
 WHERE i.id = $1

-- name: load_runs
-- $1 instance id; its recorded activity runs in start order (runs superseded
-- by a resume of the failed instance are history, not state)
SELECT run_id::text AS run_id, activity, parent_run::text AS parent_run, item, attempt,
       started_at, lineage, status, published, returned_data, ended_at, error
  FROM activity_runs
 WHERE instance_id = $1 AND superseded_at IS NULL
 ORDER BY seq

-- name: variables_by_name
-- $1 variable names
SELECT name, value, encrypted FROM variables WHERE name = ANY($1::text[])
