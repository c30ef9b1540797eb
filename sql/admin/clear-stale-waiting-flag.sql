-- A flag left set by a listener that died asleep: writers already skip the NOTIFY (no session
-- holds the waiting lock), clearing it spares them that check too. Re-checked in the same
-- statement, so a listener that has just gone to sleep keeps its flag.
UPDATE pgbridge.listener_state SET waiting = false
WHERE waiting AND pgbridge.advisory_lock_holder('pgbridge.waiting') IS NULL
