-- Integration packs (orch/db/packs.py): registration, listing, what servers report.

-- name: pack_register
-- $1 pack name, $2 version, $3 distribution, $4 registered_by;
-- types: $5 names, $6 display names, $7 descriptions, $8 categories, $9 rerunnable,
-- $10 monitor, $11 input schemas, $12 output schemas. Re-registering a version
-- replaces its types.
WITH pack AS (
    INSERT INTO integration_packs (name, version, distribution, registered_by)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (name, version) DO UPDATE
       SET distribution = EXCLUDED.distribution, registered_by = EXCLUDED.registered_by,
           registered_at = now()
    RETURNING name, version
),
gone AS (
    DELETE FROM pack_activity_types t USING pack p
     WHERE t.pack = p.name AND t.pack_version = p.version
)
INSERT INTO pack_activity_types (pack, pack_version, name, display_name, description, category,
                                 rerunnable, monitor, input_schema, output_schema)
SELECT p.name, p.version, t.name, t.display_name, t.description, t.category, t.rerunnable,
       t.monitor, t.input_schema, t.output_schema
  FROM pack p,
       unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::bool[], $10::bool[],
              $11::jsonb[], $12::jsonb[])
       AS t(name, display_name, description, category, rerunnable, monitor, input_schema,
            output_schema)
ON CONFLICT (pack, pack_version, name) DO UPDATE
   SET display_name = EXCLUDED.display_name, description = EXCLUDED.description,
       category = EXCLUDED.category, rerunnable = EXCLUDED.rerunnable,
       monitor = EXCLUDED.monitor, input_schema = EXCLUDED.input_schema,
       output_schema = EXCLUDED.output_schema

-- name: packs_list
-- no parameters. Every registered pack version and every version a server
-- reports, with the servers that have it (live or not) and its type names.
WITH reported AS (
    SELECT s.name AS server, s.status, v.key AS pack, v.value #>> '{}' AS version
      FROM servers s CROSS JOIN LATERAL jsonb_each(s.pack_versions) AS v
),
keys AS (
    SELECT name, version FROM integration_packs
    UNION
    SELECT pack, version FROM reported
)
SELECT k.name, k.version, p.distribution, p.registered_at,
       ARRAY(SELECT t.name FROM pack_activity_types t
              WHERE t.pack = k.name AND t.pack_version = k.version ORDER BY t.name) AS types,
       ARRAY(SELECT r.server FROM reported r
              WHERE r.pack = k.name AND r.version = k.version ORDER BY r.server) AS servers,
       ARRAY(SELECT r.server FROM reported r
              WHERE r.pack = k.name AND r.version = k.version AND r.status = 'up'
              ORDER BY r.server) AS servers_up,
       p.name IS NOT NULL AS registered
  FROM keys k
  LEFT JOIN integration_packs p ON p.name = k.name AND p.version = k.version
 ORDER BY k.name, k.version

-- name: pack_types
-- $1 pack name, $2 version
SELECT name, display_name, description, category, rerunnable, monitor, input_schema,
       output_schema
  FROM pack_activity_types WHERE pack = $1 AND pack_version = $2 ORDER BY name

-- name: report_server_packs
-- $1 server name, $2 pack names (jsonb list), $3 {"pack": "version"}, $4 qualified
-- activity types. At start and on each heartbeat; a no-op when unchanged.
UPDATE servers
   SET packs = $2, pack_versions = $3, activity_types = $4
 WHERE name = $1
   AND (packs IS DISTINCT FROM $2 OR pack_versions IS DISTINCT FROM $3
        OR activity_types IS DISTINCT FROM $4::text[])

-- name: deploy_server
-- $1 name, $2 capacity. Registers a runbook server ahead of its first start
-- (status 'stopped' until it starts); an existing row keeps its status.
WITH s AS (
    INSERT INTO servers (name, status, capacity, heartbeat_at)
    VALUES ($1, 'stopped', $2, now())
    ON CONFLICT (name) DO UPDATE SET capacity = EXCLUDED.capacity
    RETURNING name, status, capacity, (xmax = 0) AS created
),
ev AS (
    INSERT INTO events (kind, status, server, data)
    SELECT 'server', s.status, s.name, jsonb_build_object('deployed', true, 'capacity', s.capacity)
      FROM s
)
SELECT name, status, capacity, created FROM s

-- name: deploy_add_runbook_server
-- $1 runbook id, $2 position, $3 server name
INSERT INTO runbook_servers (runbook_id, position, server_name) VALUES ($1, $2, $3)

-- name: deploy_lock_runbook
-- $1 runbook id; serialises assignment changes of one runbook
SELECT id FROM runbooks WHERE id = $1 FOR UPDATE

-- name: registered_types_stamp
-- no parameters; changes whenever a pack version is (re)registered
SELECT coalesce(max(registered_at)::text, '') || '/' || count(*) FROM integration_packs

-- name: registered_types_latest
-- no parameters; every registered type, of its pack's latest registered version
SELECT DISTINCT ON (t.pack, t.name)
       t.pack, t.name, t.display_name, t.description, t.category, t.rerunnable, t.monitor,
       t.input_schema, t.output_schema
  FROM pack_activity_types t
  JOIN integration_packs p ON p.name = t.pack AND p.version = t.pack_version
 ORDER BY t.pack, t.name, p.registered_at DESC
