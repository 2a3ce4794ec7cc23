-- 0009: the claim walks the queue in order and stops after the jobs it takes.
-- With enable_sort off inside orch_claim_jobs the planner reads queued jobs
-- from the (status, created_at) index oldest first and stops at the limit,
-- whatever its (often stale) statistics say about the queue's length; with a
-- sort it fetched, joined and sorted every queued job for each claim (2,000
-- queued: 3-5 ms for one job instead of 0.4 ms).
ALTER FUNCTION orch_claim_jobs(text, integer, integer, double precision) SET enable_sort = off;
