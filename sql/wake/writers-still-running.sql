-- $1: the transactions that were running when the listener set its waiting flag. Is any of
-- them still running (so it may yet commit an event without a NOTIFY)?
SELECT EXISTS (
  SELECT 1 FROM pg_locks
  WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted
    AND transactionid::text = ANY ($1::text[])
) AS running
