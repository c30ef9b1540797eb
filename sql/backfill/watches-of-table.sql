-- $1 schema, $2 table: the installed watches of that table, and whether the table exists (for
-- an error that says which of the two is wrong).
SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL AS table_exists,
       coalesce((SELECT json_agg(json_build_object('name', w.name, 'label', w.label) ORDER BY w.name)
                 FROM pgbridge.watch AS w WHERE w.schema_name = $1 AND w.table_name = $2), '[]') AS watches,
       (SELECT coalesce(string_agg(DISTINCT format('%s.%s', w.schema_name, w.table_name), ', '), '') FROM pgbridge.watch AS w) AS watched_tables,
       to_regclass('pgbridge.backfill') IS NOT NULL AS backfills_installed
