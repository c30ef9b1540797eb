-- Is there work the listener would otherwise sleep through? $1: ids waiting out a backoff
-- (not work for now); updates a coalescing watch may still merge into are not work either
-- (the same condition as in drain/fetch-events: the poll timer picks them up when due).
SELECT EXISTS (
  SELECT 1 FROM pgbridge.outbox AS o
  WHERE o.id <> ALL ($1::bigint[])
    AND (o.coalesce_until IS NULL OR o.coalesce_until <= now()
         OR NOT EXISTS (SELECT FROM pgbridge.coalescing AS c WHERE c.coalesce_key = o.coalesce_key AND c.event_id = o.id))
) AS has_events
