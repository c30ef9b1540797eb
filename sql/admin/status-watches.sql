-- Per watch, for `pgbridge status`: its state, events waiting, age of the oldest, events
-- published in the last minute. $1: the config's watches (validated JSON), or null when no
-- config was read (then nothing is "not installed", "no such table", "not in config" or
-- "out of date").
-- Waiting events are counted by a scan of the outbox: exact, and cheap next to draining them.
WITH configured AS (
  SELECT spec->>'name' AS name, spec FROM jsonb_array_elements(coalesce($1::jsonb, '[]')) AS spec
),
installed AS (
  SELECT w.name, w.schema_name, w.table_name, w.label, w.definition,
         c.oid IS NOT NULL AS table_exists,
         format('%I.%I', n.nspname, c.relname) AS now_named,
         n.nspname = w.schema_name AND c.relname = w.table_name AS same_name,
         -- The watch's actions that no trigger of its capture function fires for any more
         -- (tgtype bits: 4 insert, 8 delete, 16 update, 32 truncate); a WAL watch's, all of them
         -- once its table is out of the capture publication.
         ARRAY(SELECT action FROM jsonb_array_elements_text(w.definition->'actions') AS action
               WHERE w.definition->>'capture' = 'wal' AND NOT EXISTS (
                 SELECT 1 FROM pg_publication_rel AS r JOIN pg_publication AS pub ON pub.oid = r.prpubid
                 WHERE pub.pubname = (SELECT publication FROM pgbridge.wal_capture) AND r.prrelid = w.table_oid)
               OR w.definition->>'capture' IS DISTINCT FROM 'wal' AND NOT EXISTS (
                 SELECT 1 FROM pg_trigger AS t
                 JOIN pg_proc AS p ON p.oid = t.tgfoid
                 JOIN pg_namespace AS pn ON pn.oid = p.pronamespace
                 WHERE pn.nspname = 'pgbridge' AND p.proname = w.function_name AND t.tgrelid = w.table_oid
                   AND t.tgtype::int & CASE action WHEN 'insert' THEN 4 WHEN 'delete' THEN 8 WHEN 'update' THEN 16 WHEN 'truncate' THEN 32 ELSE 0 END <> 0)
         ) AS missing_actions,
         EXISTS (SELECT 1 FROM pg_trigger AS t
                 JOIN pg_proc AS p ON p.oid = t.tgfoid
                 JOIN pg_namespace AS pn ON pn.oid = p.pronamespace
                 WHERE pn.nspname = 'pgbridge' AND p.proname = w.function_name AND t.tgrelid = w.table_oid) AS has_trigger
  FROM pgbridge.watch AS w
  LEFT JOIN pg_class AS c ON c.oid = w.table_oid
  LEFT JOIN pg_namespace AS n ON n.oid = c.relnamespace
),
watches AS (
  SELECT coalesce(i.name, c.name) AS name,
         coalesce(i.schema_name, c.spec->>'schema') AS schema_name,
         coalesce(i.table_name, c.spec->>'table') AS table_name,
         coalesce(i.label, c.spec->>'label') AS label,
         CASE WHEN i.name IS NULL AND to_regclass(format('%I.%I', c.spec->>'schema', c.spec->>'table')) IS NULL THEN 'no such table'
              WHEN i.name IS NULL THEN 'not installed'
              WHEN NOT i.table_exists THEN 'table dropped'
              WHEN NOT i.same_name THEN 'table renamed'
              WHEN cardinality(i.missing_actions) > 0 THEN 'trigger missing'
              WHEN $1::jsonb IS NOT NULL AND c.name IS NULL THEN 'not in config'
              WHEN pgbridge.stored_definition(c.spec) <> i.definition THEN 'out of date'
              ELSE 'installed' END AS state,
         CASE WHEN i.table_exists AND NOT i.same_name THEN i.now_named END AS now_named,
         CASE WHEN i.table_exists THEN i.missing_actions ELSE '{}' END AS missing_triggers,
         coalesce(i.has_trigger, false) AS has_trigger
  FROM installed AS i FULL JOIN configured AS c ON c.name = i.name
),
waiting AS (
  SELECT schema_name, table_name, coalesce(label, '') AS label, count(*) AS events, min(at) AS oldest
  FROM pgbridge.outbox GROUP BY 1, 2, 3
),
published AS (
  SELECT schema_name, table_name, label, sum(events) AS events
  FROM pgbridge.published_count WHERE second > now() - interval '1 minute' GROUP BY 1, 2, 3
)
SELECT w.name, w.schema_name, w.table_name, w.label, w.state, w.now_named, w.missing_triggers, w.has_trigger,
       coalesce(q.events, 0)::int AS waiting,
       extract(epoch FROM now() - q.oldest)::float8 AS oldest_age_seconds,
       coalesce(p.events, 0)::int AS published_last_minute
FROM watches AS w
LEFT JOIN waiting AS q ON (q.schema_name, q.table_name, q.label) = (w.schema_name, w.table_name, coalesce(w.label, ''))
LEFT JOIN published AS p ON (p.schema_name, p.table_name, p.label) = (w.schema_name, w.table_name, coalesce(w.label, ''))
ORDER BY w.name
