-- $1: ids the sink rejected for their content, $2: the reasons. Moves them out of the way of
-- the events behind them; `pgbridge parked resend` brings them back.
WITH rejected AS (
  SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(id, reason)
), moved AS (
  DELETE FROM pgbridge.outbox AS o USING rejected AS r WHERE o.id = r.id
  RETURNING o.*, r.reason
)
INSERT INTO pgbridge.parked (id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, backfill_id, target, txid, at, reason)
SELECT id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, backfill_id, target, txid, at, reason FROM moved
ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, parked_at = now()
