-- Uninstall, before it drops anything: whether a listener streams the capture slot right now,
-- and (when none does) whether the slot still holds committed changes of the watched tables that
-- no listener confirmed: they would be lost with it. No row without a slot.
SELECT c.slot, s.active,
       CASE WHEN s.active THEN NULL
            ELSE EXISTS (SELECT FROM pg_catalog.pg_logical_slot_peek_binary_changes(
                           c.slot, NULL, 1, 'proto_version', '1', 'publication_names', c.publication))
       END AS pending
FROM pgbridge.wal_capture AS c
JOIN pg_catalog.pg_replication_slots AS s ON s.slot_name = c.slot
