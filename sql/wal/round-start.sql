-- Before a WAL round ($1: the slot): where the slot stands (the round reads from there), the
-- position the round reads up to (what commits later waits for the next round), the server's
-- next 64-bit transaction id (to extend pgoutput's 32-bit xids as txid_current() reports
-- them) and whether published events are retained. No xid is taken.
SELECT (SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1) AS read_from,
       pg_catalog.pg_current_wal_lsn()::text AS upto,
       pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot())::text AS next_xid,
       (SELECT days IS NOT NULL FROM pgbridge.retention) AS retained
