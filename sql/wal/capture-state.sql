-- This database's capture publication and slot, whether the slot exists (and where it was last
-- confirmed to: where its stream starts), and the server's wal_level.
SELECT c.publication, c.slot, s.slot_name IS NOT NULL AS slot_exists, s.active AS slot_active,
       s.confirmed_flush_lsn::text AS confirmed_at,
       pg_catalog.current_setting('wal_level') AS wal_level
FROM pgbridge.wal_capture AS c
LEFT JOIN pg_catalog.pg_replication_slots AS s ON s.slot_name = c.slot
