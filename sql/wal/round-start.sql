-- Before a WAL round: the server's next 64-bit transaction id (to extend pgoutput's 32-bit xids
-- as txid_current() reports them) and whether published events are retained. No xid is taken.
SELECT pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot())::text AS next_xid,
       (SELECT days IS NOT NULL FROM pgbridge.retention) AS retained
