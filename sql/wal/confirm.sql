-- Everything up to $2 is published (or parked): slot $1 lets go of it, and the ids kept for
-- rounds before it are no longer needed.
WITH forgotten AS (DELETE FROM pgbridge.wal_round WHERE first_lsn < $2::pg_lsn)
SELECT end_lsn::text FROM pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)
