-- $1: ids the sink accepted. Runs in the fetch transaction, so a crash before COMMIT re-sends
-- them (at-least-once) instead of losing them.
-- The same statement adds them to this connection's count of the current second, read by
-- `pgbridge status`: $2 schema names, $3 table names, $4 labels ('' for none), $5 event counts,
-- one element per table and label, counted by the listener. No extra round trip, and a
-- rolled-back round counts nothing. Counting here rather than through `RETURNING` keeps the
-- statement's cost at +0.1 ms per 500 events instead of +0.5 ms (EXPLAIN ANALYZE).
WITH deleted AS (
  DELETE FROM pgbridge.outbox WHERE id = ANY ($1::bigint[])
)
INSERT INTO pgbridge.published_count AS counted (second, backend_pid, schema_name, table_name, label, events)
SELECT date_trunc('second', now()), pg_backend_pid(), schema_name, table_name, label, events
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS round(schema_name, table_name, label, events)
ON CONFLICT (second, backend_pid, schema_name, table_name, label)
DO UPDATE SET events = counted.events + excluded.events
