-- $1: ids to resend, or NULL for all. They keep their id, so consumers can still deduplicate.
WITH moved AS (
  DELETE FROM pgbridge.parked WHERE $1::bigint[] IS NULL OR id = ANY ($1::bigint[]) RETURNING *
)
INSERT INTO pgbridge.outbox (id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, backfill_id, target, txid, at)
OVERRIDING SYSTEM VALUE
SELECT id, schema_name, table_name, action, label, key, row_data, old_data, key_change, coalesced, changed_columns, backfill_id, target, txid, at FROM moved
RETURNING id
