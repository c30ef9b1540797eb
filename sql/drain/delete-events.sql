-- $1: ids the sink accepted. Runs in the fetch transaction, so a crash before COMMIT re-sends
-- them (at-least-once) instead of losing them.
DELETE FROM pgbridge.outbox WHERE id = ANY ($1::bigint[])
