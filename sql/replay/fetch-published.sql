-- The next page of retained events for `pgbridge replay`, in id order, built exactly as
-- sql/drain/fetch-events.sql built them the first time (same body, same attributes).
-- $1: the last id already replayed (NULL at the start); $2/$3: id range [since, until);
-- $4/$5: `at` range [since, until); $6/$7: schema and table, or NULL for all; $8: page size.
-- A plain read with no row locks: published events never change, and the drain only appends.
SELECT
  o.id::text AS id,
  o.schema_name,
  o.table_name,
  o.action,
  o.label,
  o.key::text AS key,
  (SELECT string_agg(k.value, ',') FROM json_each_text(o.key) AS k) AS key_values,
  o.txid::text AS txid,
  to_json(o.at)::text AS at,
  o.backfill_id::text AS backfill,
  o.target,
  o.key_change::text AS key_change,
  o.coalesced,
  CASE WHEN o.key_change IS NULL AND o.coalesced IS NULL THEN b.body
       ELSE left(b.body, -1)
            || CASE WHEN o.key_change IS NULL THEN '' ELSE ', "key_change" : ' || o.key_change::text END
            || CASE WHEN o.coalesced IS NULL THEN '' ELSE ', "coalesced" : ' || o.coalesced END
            || '}' END AS body
FROM pgbridge.published AS o
CROSS JOIN LATERAL (SELECT json_build_object(
    'id', o.id::text,
    'schema', o.schema_name,
    'table', o.table_name,
    'action', o.action,
    'label', o.label,
    'key', o.key,
    'row', o.row_data,
    'old', o.old_data,
    'changed', CASE WHEN o.action = 'update' THEN coalesce(o.changed_columns, (
      SELECT coalesce(json_agg(n.key), '[]')
      FROM json_each_text(o.row_data) AS n
      LEFT JOIN json_each_text(o.old_data) AS p ON p.key = n.key
      WHERE p.key IS NULL OR n.value IS DISTINCT FROM p.value
    )) END,
    'txid', o.txid::text,
    'at', o.at
  )::text AS body) AS b
WHERE ($1::bigint IS NULL OR o.id > $1::bigint)
  AND ($2::bigint IS NULL OR o.id >= $2::bigint)
  AND ($3::bigint IS NULL OR o.id < $3::bigint)
  AND ($4::timestamptz IS NULL OR o.at >= $4::timestamptz)
  AND ($5::timestamptz IS NULL OR o.at < $5::timestamptz)
  AND ($6::text IS NULL OR (o.schema_name = $6::text AND o.table_name = $7::text))
ORDER BY o.id
LIMIT $8
