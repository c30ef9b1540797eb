-- For `pgbridge status`, when "capture": "wal" watches are installed: their replication slot,
-- whether a listener reads it right now, the WAL it keeps on the server's disk (from its restart
-- position) and what it holds that the listener has not confirmed yet (changes still to publish,
-- or WAL of other tables not yet stepped over). wal_status: reserved, extended, unreserved or
-- lost (max_slot_wal_keep_size exceeded: changes were lost). No row without WAL watches.
SELECT c.slot, s.slot_name IS NOT NULL AS slot_exists, coalesce(s.active, false) AS active,
       (pg_catalog.pg_current_wal_lsn() - s.restart_lsn)::bigint AS retained_bytes,
       -- The listener confirms the position just past what it published: it may be ahead of the end.
       greatest(pg_catalog.pg_current_wal_lsn() - s.confirmed_flush_lsn, 0)::bigint AS unconfirmed_bytes,
       s.wal_status
FROM pgbridge.wal_capture AS c
LEFT JOIN pg_catalog.pg_replication_slots AS s ON s.slot_name = c.slot
WHERE EXISTS (SELECT FROM pgbridge.watch WHERE definition->>'capture' = 'wal')
