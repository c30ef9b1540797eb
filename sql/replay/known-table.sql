-- $1 schema, $2 table: whether `replay --table` names a watched table (or one that has retained
-- events from an earlier watch), and the watched tables, for the error message otherwise.
SELECT
  EXISTS (SELECT 1 FROM pgbridge.watch AS w WHERE w.schema_name = $1 AND w.table_name = $2)
    OR EXISTS (SELECT 1 FROM pgbridge.published AS p WHERE p.schema_name = $1 AND p.table_name = $2) AS known,
  (SELECT string_agg(DISTINCT w.schema_name || '.' || w.table_name, ', ') FROM pgbridge.watch AS w) AS watched
