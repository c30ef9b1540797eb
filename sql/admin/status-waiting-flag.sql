-- The listener's waiting flag, and whether a live listener stands behind it: the flag counts
-- only while a session holds the waiting lock (wake/take-waiting-lock.sql).
SELECT waiting, pgbridge.advisory_lock_holder('pgbridge.waiting') IS NOT NULL AS lock_held
FROM pgbridge.listener_state
