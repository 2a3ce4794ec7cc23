-- The live feed's delivery measure (orch/gateway/live/delivery.py).

-- name: live_commit_tracking
-- Whether PostgreSQL records commit timestamps (track_commit_timestamp): the
-- feed then measures each event's delay from its commit to its frame.
SELECT current_setting('track_commit_timestamp') = 'on'

-- name: api_live_poll_committed
-- api_live_poll (same $1..$4, same rows) plus each event's commit time, in
-- seconds since the epoch, for the delivery histogram; only used when
-- track_commit_timestamp is on (else pg_xact_commit_timestamp raises).
WITH holders AS (
    SELECT ARRAY(SELECT l.virtualtransaction
                   FROM pg_locks l
                  WHERE l.locktype = 'relation'
                    AND l.database = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())
                    AND l.relation = 'events'::regclass
                    AND l.mode = 'RowExclusiveLock'
                    AND l.pid IS DISTINCT FROM pg_backend_pid()) AS holders
),
found AS (
    (SELECT e.*, e.xmin AS xid FROM unnest($2::bigint[], $3::bigint[]) AS g(lo, hi)
       JOIN events e ON e.seq BETWEEN g.lo AND g.hi)
    UNION ALL
    (SELECT e.*, e.xmin AS xid FROM events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $4)
)
SELECT h.holders,
       f.seq,
       f.kind,
       f.at,
       f.runbook_id::text AS runbook_id,
       f.job_id::text AS job_id,
       f.instance_id::text AS instance_id,
       f.activity,
       f.run_id::text AS run_id,
       f.status,
       f.server,
       f.data ->> 'error' AS error,
       extract(epoch FROM pg_xact_commit_timestamp(f.xid))::float8 AS committed
  FROM holders h
  LEFT JOIN found f ON true
 ORDER BY f.seq;
