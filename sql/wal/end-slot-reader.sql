-- Uninstall --force with a listener still streaming the slot ($1): ends that stream's session,
-- so that the slot can be dropped (the listener reconnects and finds pgbridge gone).
SELECT pg_catalog.pg_terminate_backend(active_pid) AS ended
FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND active
