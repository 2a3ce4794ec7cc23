-- 0006: maintenance as an operator's wish for a runbook server, kept across its
-- restarts (issue 12). A server with the flag starts in 'maintenance' and
-- claims nothing (no jobs, no takeovers) until `orch server maintenance NAME
-- off`; a drain sets it too, since a drain ends in maintenance. The status
-- says what the server does now; the flag, what it should do when it runs.
ALTER TABLE servers ADD COLUMN maintenance boolean NOT NULL DEFAULT false;
