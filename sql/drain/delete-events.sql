-- $1: ids the sink accepted. Runs in the fetch transaction, so a crash before COMMIT re-sends
-- them (at-least-once) instead of losing them. With retention on, the same statement moves
-- them into today's partition of pgbridge.published (for `pgbridge replay`): one append, no
-- second pass over the outbox. A coalescing watch's entry that points to one of them goes too
-- (SKIP LOCKED: a writer updating the entry replaces it anyway, and the listener never waits
-- for a writer).
WITH accepted AS (
  DELETE FROM pgbridge.outbox WHERE id = ANY ($1::bigint[])
  RETURNING id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, coalesce_key, txid, at
), retained AS (
  INSERT INTO pgbridge.published (id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, txid, at)
  SELECT id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, txid, at FROM accepted
  WHERE (SELECT days IS NOT NULL FROM pgbridge.retention)
)
DELETE FROM pgbridge.coalescing AS c
WHERE c.coalesce_key IN (
  SELECT l.coalesce_key FROM pgbridge.coalescing AS l
  JOIN accepted AS p ON p.coalesce_key = l.coalesce_key AND p.id = l.event_id
  FOR UPDATE OF l SKIP LOCKED
)
