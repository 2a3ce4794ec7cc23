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
