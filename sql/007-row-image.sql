-- What a watch sends of a row, as SQL expressions over a record (NEW/OLD in the capture
-- triggers of 002, a table alias in a backfill's read): one definition, so a backfilled row is
-- the row a live event would carry.

-- The primary-key columns of a table, in key order; NULL without a primary key.
CREATE OR REPLACE FUNCTION pgbridge.primary_key_columns(target regclass)
RETURNS text[] LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT array_agg(a.attname::text ORDER BY k.position)
  FROM pg_index i
  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  WHERE i.indrelid = target AND i.indisprimary
$$;

-- The row as JSON, limited to a watch's `payload` minus its `exclude`; without a payload every
-- column but the excluded ones (following ALTER TABLE ADD COLUMN).
CREATE OR REPLACE FUNCTION pgbridge.row_json_sql(record_name text, payload text[], exclude text[])
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN cardinality(payload) > 0
      THEN pgbridge.json_object_sql(record_name, ARRAY(SELECT c FROM unnest(payload) AS c WHERE c <> ALL (coalesce(exclude, '{}'))))
    WHEN cardinality(exclude) > 0 THEN format('(to_jsonb(%s) - %L::text[])::json', record_name, exclude)
    ELSE format('row_to_json(%s)', record_name)
  END
$$;
