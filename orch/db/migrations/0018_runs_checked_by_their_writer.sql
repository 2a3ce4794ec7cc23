-- 0018: no foreign key check at every activity run's insert (issue 21). The
-- key activity_runs.instance_id -> instances ran its check — a query of its own
-- per row — on every run a group commit writes, ~8 % of PostgreSQL's CPU per
-- durable step at 1,000 concurrent instances. Every statement that writes a run
-- already proves its instance is there: it joins the instance row (locked FOR
-- SHARE while the writing server owns it — the fencing — which a delete waits
-- for too), or inserts that instance in the same statement (a monitor's
-- trigger). What the key also did, deleting an instance's runs with it, is
-- kept by a statement trigger.
ALTER TABLE activity_runs DROP CONSTRAINT activity_runs_instance_id_fkey;

CREATE FUNCTION orch_delete_instance_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM activity_runs r USING gone g WHERE r.instance_id = g.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER instances_delete_runs AFTER DELETE ON instances
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION orch_delete_instance_runs();
