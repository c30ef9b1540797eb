-- Installed watches whose table is gone or was renamed since install: their events stop (or
-- carry the old name) until the config is fixed and re-installed.
SELECT w.name, w.schema_name, w.table_name,
       c.oid IS NULL AS dropped,
       CASE WHEN c.oid IS NOT NULL THEN format('%I.%I', n.nspname, c.relname) END AS now_named
FROM pgbridge.watch AS w
LEFT JOIN pg_class AS c ON c.oid = w.table_oid
LEFT JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid IS NULL OR n.nspname <> w.schema_name OR c.relname <> w.table_name
