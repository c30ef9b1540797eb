-- SKIP LOCKED: whoever else holds the row lock is clearing the flag too (a writer that found
-- it stale, `pgbridge status`), so a listener starting up never waits behind their transaction.
UPDATE pgbridge.listener_state SET waiting = false
WHERE singleton IN (SELECT singleton FROM pgbridge.listener_state WHERE waiting FOR UPDATE SKIP LOCKED)
