-- From now on triggers NOTIFY. Returns the in-progress transactions: one of them may have
-- written an event before it could see the flag, so the listener re-checks after they end.
WITH flag AS (UPDATE pgbridge.listener_state SET waiting = true)
SELECT pg_current_snapshot()::text AS snapshot
