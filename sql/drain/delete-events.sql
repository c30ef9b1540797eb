-- $1: ids the sink accepted. Runs in the fetch transaction, so a crash before COMMIT re-sends
-- them (at-least-once) instead of losing them. With retention on, the same statement moves
-- them into today's partition of pgbridge.published (for `pgbridge replay`): one append, no
-- second pass over the outbox.
WITH accepted AS (
  DELETE FROM pgbridge.outbox WHERE id = ANY ($1::bigint[])
  RETURNING id, schema_name, table_name, action, label, key, row_data, old_data, txid, at
)
INSERT INTO pgbridge.published (id, schema_name, table_name, action, label, key, row_data, old_data, txid, at)
SELECT id, schema_name, table_name, action, label, key, row_data, old_data, txid, at FROM accepted
WHERE (SELECT days IS NOT NULL FROM pgbridge.retention)
