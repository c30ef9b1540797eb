-- Event ids for a round that starts at change $1 and sends $2 events: the ids it had if it was
-- read before (published, then the listener stopped before confirming), else new ones from the
-- outbox's generator, kept until the slot is confirmed past the round.
WITH known AS (
  SELECT ids FROM pgbridge.wal_round WHERE first_lsn = $1::pg_lsn AND cardinality(ids) = $2
), fresh AS (
  INSERT INTO pgbridge.wal_round (first_lsn, ids)
  SELECT $1::pg_lsn, ARRAY(SELECT nextval(pg_catalog.pg_get_serial_sequence('pgbridge.outbox', 'id')) FROM generate_series(1, $2))
  WHERE NOT EXISTS (SELECT FROM known)
  ON CONFLICT (first_lsn) DO UPDATE SET ids = excluded.ids
  RETURNING ids
)
SELECT ids::text[] AS ids FROM known UNION ALL SELECT ids::text[] FROM fresh
