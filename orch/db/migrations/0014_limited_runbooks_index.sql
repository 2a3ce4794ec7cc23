-- 0014: every claim asks whether any runbook has a max_concurrent_jobs (the
-- lean claim, claim_jobs_fast, applies only when none has; orch_claim_jobs's
-- prelude asks too). Without an index that is a scan of every runbook on each
-- claim (an SCO shop's 380 imported runbooks: ~380 rows per claim); with this
-- partial index, nearly always empty, it is one probe of an empty index.
CREATE INDEX runbooks_limited ON runbooks (id) WHERE max_concurrent_jobs > 0;
