-- Is there work the listener would otherwise sleep through? $1: the transactions that were
-- running when it set the flag; $2: ids waiting out a backoff (not work for now).
SELECT
  EXISTS (SELECT 1 FROM pgbridge.outbox WHERE id <> ALL ($2::bigint[])) AS has_events,
  EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted
      AND transactionid::text = ANY ($1::text[])
  ) AS writers_in_flight
