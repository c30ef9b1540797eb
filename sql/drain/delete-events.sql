-- $1: ids the sink accepted. Runs in the fetch transaction, so a crash before COMMIT re-sends
-- them (at-least-once) instead of losing them. A coalescing watch's entry that points to one of
-- them goes too (SKIP LOCKED: a writer updating the entry replaces it anyway, and the listener
-- never waits for a writer).
WITH published AS (
  DELETE FROM pgbridge.outbox WHERE id = ANY ($1::bigint[]) RETURNING id, coalesce_key
)
DELETE FROM pgbridge.coalescing AS c
WHERE c.coalesce_key IN (
  SELECT l.coalesce_key FROM pgbridge.coalescing AS l
  JOIN published AS p ON p.coalesce_key = l.coalesce_key AND p.id = l.event_id
  FOR UPDATE OF l SKIP LOCKED
)
