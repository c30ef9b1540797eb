-- After AWS accepted a WAL round: with retention on, the events go into today's partition of
-- pgbridge.published (for `pgbridge replay`), as the outbox drain's do ($1: a JSON array of
-- them, [] when retention is off); and they count in `pgbridge status`, as in drain/delete-events
-- ($2 schema names, $3 table names, $4 labels, '' for none, $5 event counts).
WITH retained AS (
  INSERT INTO pgbridge.published (id, schema_name, table_name, action, label, key, row_data, old_data, key_change, txid, at)
  SELECT e.id, e.schema_name, e.table_name, e.action, e.label, e.key, e.row_data, e.old_data, e.key_change, e.txid, e.at
  FROM json_to_recordset($1::json) AS e(id bigint, schema_name text, table_name text, action text, label text, key json,
                                        row_data json, old_data json, key_change json, txid bigint, at timestamptz)
)
INSERT INTO pgbridge.published_count AS counted (second, backend_pid, schema_name, table_name, label, events)
SELECT date_trunc('second', now()), pg_backend_pid(), schema_name, table_name, label, events
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS round(schema_name, table_name, label, events)
ON CONFLICT (second, backend_pid, schema_name, table_name, label)
DO UPDATE SET events = counted.events + excluded.events
