-- Ids for the $2 events of a round read from slot position $1: those a round read from there
-- before was given (published, then not confirmed), then new ones from the outbox's generator;
-- `kept`: how many ids are kept for this position (more than $2 when a longer round was read
-- from here before). Written only when new ones were needed. Entries for positions the slot
-- ($3) is confirmed past are of no use any more and go; only what the server has confirmed
-- counts, not what this listener sent it.
WITH forgotten AS (
  DELETE FROM pgbridge.wal_round
  WHERE read_from < (SELECT confirmed_flush_lsn FROM pg_catalog.pg_replication_slots WHERE slot_name = $3)
), known AS (
  SELECT ids FROM pgbridge.wal_round WHERE read_from = $1::pg_lsn
), fresh AS (
  SELECT coalesce(array_agg(nextval(pg_catalog.pg_get_serial_sequence('pgbridge.outbox', 'id'))), '{}') AS ids
  FROM generate_series(1, $2 - coalesce((SELECT cardinality(ids) FROM known), 0))
), stored AS (
  INSERT INTO pgbridge.wal_round (read_from, ids)
  SELECT $1::pg_lsn, coalesce((SELECT ids FROM known), '{}') || (SELECT ids FROM fresh)
  WHERE cardinality((SELECT ids FROM fresh)) > 0
  ON CONFLICT (read_from) DO UPDATE SET ids = excluded.ids
  RETURNING ids
)
SELECT (ids[1:$2])::text[] AS ids, cardinality(ids) AS kept
FROM (SELECT ids FROM stored UNION ALL SELECT ids FROM known) AS a LIMIT 1
