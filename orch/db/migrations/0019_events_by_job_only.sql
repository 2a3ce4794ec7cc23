-- 0019: one index fewer on the events of every step (issue 21). Each event row
-- went into two b-trees keyed by a random id and its seq, (job_id, seq) and
-- (instance_id, seq); at 1,000 concurrent instances the group commit's run
-- statement spent ~20 % of its time on them more than with one (its total
-- execution time in pg_stat_statements, three pairs). An instance's events are
-- its job's events with its id (every event naming an instance names its job),
-- so the reads by instance find them through the job's index: each names the
-- instance's job too (orch/sql: api_events_page, claim_instances,
-- pushed_unstarted, instance_takeovers).
DROP INDEX events_instance;
