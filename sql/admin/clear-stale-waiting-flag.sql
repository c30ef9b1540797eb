-- A flag left set by a listener that died asleep: writers already skip the NOTIFY (no session
-- holds the waiting lock) and the next writer clears it; this clears it before any writes.
-- The lock holder is looked at again when the row is locked, so a listener that has just gone
-- to sleep keeps its flag; SKIP LOCKED: a writer clearing it already is not waited for.
UPDATE pgbridge.listener_state SET waiting = false
WHERE singleton IN (
  SELECT singleton FROM pgbridge.listener_state
  WHERE waiting AND pgbridge.advisory_lock_holder('pgbridge.waiting') IS NULL
  FOR UPDATE SKIP LOCKED
)
