-- WAL events the sink will never accept ($1: a JSON array of them, with `reason`): into
-- pgbridge.parked like the outbox's, so `pgbridge parked` lists them and `parked resend` puts
-- them into the outbox, from where the drain sends them. A round retried before the slot moved
-- on parks the same ids again: nothing to add.
INSERT INTO pgbridge.parked (id, schema_name, table_name, action, label, key, row_data, old_data, key_change, txid, at, reason)
SELECT e.id, e.schema_name, e.table_name, e.action, e.label, e.key, e.row_data, e.old_data, e.key_change, e.txid, e.at, e.reason
FROM json_to_recordset($1::json) AS e(id bigint, schema_name text, table_name text, action text, label text, key json,
                                      row_data json, old_data json, key_change json, txid bigint, at timestamptz, reason text)
ON CONFLICT DO NOTHING
