-- Queries of the gateway's /metrics (orch/gateway/metrics.py), run at scrape time.

-- name: metrics_jobs_by_status
-- (no parameters) How many jobs there are in each status.
SELECT status, count(*) AS n FROM jobs GROUP BY status

-- name: metrics_event_feed_lag
-- $1 the live feed's position (every event up to this seq is published):
-- the newest seq, and when the oldest event after the position happened.
SELECT (SELECT max(seq) FROM events) AS head,
       (SELECT e.at FROM events e WHERE e.seq > $1 ORDER BY e.seq LIMIT 1) AS oldest,
       clock_timestamp() AS now
