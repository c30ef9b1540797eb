-- Transactions running right after the flag was set: one of them may have written an event
-- before it could see the flag, and will commit it without a NOTIFY. Every transaction that
-- has written anything holds an exclusive lock on its own transaction id until it ends, so
-- pg_locks lists all of them (a snapshot's xip list would miss the newest ones).
SELECT coalesce(array_agg(transactionid::text), '{}') AS xids
FROM pg_locks
WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted AND pid <> pg_backend_pid()
