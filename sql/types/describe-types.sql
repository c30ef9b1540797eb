-- What `pgbridge types` needs to know of each type to tell how Postgres writes its values as
-- JSON (row_to_json, to_jsonb): arrays by element, domains by base type, enums by label,
-- composites by attribute. $1: the type oids to describe.
-- An array is a type subscripted like one (typsubscript), as Postgres' own JSON output decides.
-- A user-defined type with a cast to json (hstore, ...) is written through that cast.
SELECT
  t.oid::text AS oid,
  n.nspname AS schema,
  t.typname AS name,
  t.typtype AS kind,
  CASE WHEN t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc THEN t.typelem::text END AS "elementOid",
  CASE WHEN t.typtype = 'd' THEN t.typbasetype::text END AS "baseOid",
  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS "baseType",
  t.typnotnull AS "notNull",
  CASE WHEN t.typtype = 'e' THEN ARRAY(
    SELECT e.enumlabel::text FROM pg_enum AS e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
  ) END AS labels,
  CASE WHEN t.typtype = 'c' THEN (
    SELECT json_agg(json_build_object('name', a.attname, 'typeOid', a.atttypid::text, 'dimensions', a.attndims) ORDER BY a.attnum)
    FROM pg_attribute AS a
    WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
  ) END AS attributes,
  t.oid >= 16384 AND EXISTS (
    SELECT 1 FROM pg_cast AS k WHERE k.castsource = t.oid AND k.casttarget = 'pg_catalog.json'::regtype
  ) AS "castToJson"
FROM pg_type AS t
JOIN pg_namespace AS n ON n.oid = t.typnamespace
WHERE t.oid = ANY ($1::oid[])
