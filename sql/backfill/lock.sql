-- Session-level, held while this backfill runs: a second run of the same backfill is refused,
-- and `backfill status` tells a running backfill from one whose process died (lock gone).
SELECT pg_try_advisory_lock(hashtext('pgbridge.backfill'), $1::int) AS acquired
