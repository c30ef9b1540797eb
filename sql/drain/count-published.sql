-- Adds one round's published events to this connection's counter of the current second.
-- $1 schema names, $2 table names, $3 labels ('' for none), $4 event counts: one element per
-- watched table (and label) in the round. Runs in the round's transaction.
INSERT INTO pgbridge.published_count AS counted (second, backend_pid, schema_name, table_name, label, events)
SELECT date_trunc('second', now()), pg_backend_pid(), schema_name, table_name, label, events
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS round(schema_name, table_name, label, events)
ON CONFLICT (second, backend_pid, schema_name, table_name, label)
DO UPDATE SET events = counted.events + excluded.events
