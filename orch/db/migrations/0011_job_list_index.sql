-- 0011: job lists are newest first (GET /jobs, the console): read in index
-- order, a page stops after its rows instead of sorting every job (200,000
-- jobs: 14-52 ms a page -> 0.3-0.5 ms).
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
