-- How many of backfill $2's events still wait in the outbox, and the oldest of them. $1: no
-- older event of it is left (the previous answer's oldest), so the scan is a short id range of
-- the outbox's primary key instead of the whole backlog.
SELECT count(*)::int AS pending, min(id)::text AS oldest
FROM pgbridge.outbox
WHERE id >= $1::bigint AND backfill_id = $2::bigint
