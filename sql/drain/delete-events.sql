-- $1: ids the sink accepted. Runs in the fetch transaction, so a crash before COMMIT re-sends
-- them (at-least-once) instead of losing them. With retention on, the same statement moves
-- them into today's partition of pgbridge.published (for `pgbridge replay`): one append, no
-- second pass over the outbox. A coalescing watch's entry that points to one of them goes too
-- (SKIP LOCKED: a writer updating the entry replaces it anyway, and the listener never waits
-- for a writer).
-- The same statement adds them to this connection's count of the current second, read by
-- `pgbridge status`: $2 schema names, $3 table names, $4 labels ('' for none), $5 event counts,
-- one element per table and label, counted by the listener. No extra round trip, and a
-- rolled-back round counts nothing.
WITH accepted AS (
  DELETE FROM pgbridge.outbox WHERE id = ANY ($1::bigint[])
  RETURNING id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, coalesce_key, backfill_id, target, txid, at
), retained AS (
  INSERT INTO pgbridge.published (id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, backfill_id, target, txid, at)
  SELECT id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, backfill_id, target, txid, at FROM accepted
  WHERE (SELECT days IS NOT NULL FROM pgbridge.retention)
), uncoalesced AS (
  DELETE FROM pgbridge.coalescing AS c
  WHERE c.coalesce_key IN (
    SELECT l.coalesce_key FROM pgbridge.coalescing AS l
    JOIN accepted AS p ON p.coalesce_key = l.coalesce_key AND p.id = l.event_id
    FOR UPDATE OF l SKIP LOCKED
  )
)
INSERT INTO pgbridge.published_count AS counted (second, backend_pid, schema_name, table_name, label, events)
SELECT date_trunc('second', now()), pg_backend_pid(), schema_name, table_name, label, events
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS round(schema_name, table_name, label, events)
ON CONFLICT (second, backend_pid, schema_name, table_name, label)
DO UPDATE SET events = counted.events + excluded.events
