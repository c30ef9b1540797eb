-- Everything up to $2 is published (or parked): slot $1 lets go of it. The round read from $3
-- used $4 of the ids kept for it; ids past those (a longer round read from there before) are
-- kept for the next round, which reads from where the slot now is; older entries go.
WITH moved AS (
  SELECT end_lsn FROM pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)
), leftover AS (
  INSERT INTO pgbridge.wal_round (read_from, ids)
  SELECT m.end_lsn, r.ids[$4::int + 1:] FROM moved AS m JOIN pgbridge.wal_round AS r ON r.read_from = $3::pg_lsn
  WHERE $4::int > 0 AND cardinality(r.ids) > $4::int AND m.end_lsn > $3::pg_lsn
  ON CONFLICT (read_from) DO NOTHING
), forgotten AS (
  DELETE FROM pgbridge.wal_round WHERE read_from < (SELECT end_lsn FROM moved)
)
SELECT end_lsn::text FROM moved
