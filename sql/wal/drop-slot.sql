-- Uninstall, after the commit: this database's capture slot, if there is one ($1).
SELECT pg_catalog.pg_drop_replication_slot(slot_name) IS NULL AS dropped
FROM pg_catalog.pg_replication_slots WHERE slot_name = $1
