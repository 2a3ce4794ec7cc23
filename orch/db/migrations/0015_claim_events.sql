-- 0015: what a claim's events say, in one place (issue 21). A lean claim
-- (claim_jobs_fast) leaves its 'job' and 'instance' running events to the
-- instance's first group commit (write_run, write_runs_json, write_batch) or,
-- when its owner died before that, to the takeover (claim_instances): each
-- writes these rows, in this order (sub), as orch_claim_jobs writes its own.
CREATE FUNCTION orch_claim_events(p_server text)
RETURNS TABLE (sub integer, kind text, data jsonb)
LANGUAGE sql IMMUTABLE AS $$
    VALUES (-2, 'job', jsonb_build_object('claimed_by', p_server)),
           (-1, 'instance', jsonb_build_object('server', p_server, 'epoch', 1))
$$;
