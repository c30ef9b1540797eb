-- One watched table as `pgbridge types` sees it: its kind, comment and columns in table order.
-- $1: schema name, $2: table name. Always one row: `kind` is null when the table does not exist,
-- and `name` is the table as format('%I.%I') writes it, as `install` names it in its errors.
-- A NOT NULL constraint added NOT VALID (PostgreSQL 18) sets attnotnull while old rows may still
-- hold nulls, so a column counts as not null only when no such unvalidated constraint covers it.
-- Virtual generated columns (PostgreSQL 18) are computed on read and are null in the NEW/OLD
-- records a row trigger sees, so the capture functions send null for them.
SELECT
  format('%I.%I', $1::text, $2::text) AS name,
  c.relkind AS kind,
  obj_description(c.oid, 'pg_class') AS comment,
  coalesce((
    SELECT json_agg(json_build_object(
      'name', a.attname,
      'typeOid', a.atttypid::text,
      'declaredType', format_type(a.atttypid, a.atttypmod),
      'dimensions', a.attndims,
      'notNull', a.attnotnull AND NOT EXISTS (
        SELECT 1 FROM pg_constraint AS n
        WHERE n.conrelid = c.oid AND n.contype = 'n' AND NOT n.convalidated AND n.conkey = ARRAY[a.attnum]),
      'virtualGenerated', a.attgenerated = 'v',
      'inPrimaryKey', EXISTS (
        SELECT 1 FROM pg_index AS i WHERE i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY (i.indkey)),
      'comment', col_description(c.oid, a.attnum)
    ) ORDER BY a.attnum)
    FROM pg_attribute AS a
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  ), '[]') AS columns
FROM (VALUES (1)) AS one
LEFT JOIN pg_class AS c ON c.oid = to_regclass(format('%I.%I', $1::text, $2::text))
