-- After an install: the capture slot, created when a WAL watch exists and it does not. Outside
-- the install's transaction (Postgres creates a logical slot only in a transaction that has
-- written nothing); it waits for transactions already running to end, and from then on keeps
-- every change of the published tables until the listener confirms it.
SELECT pg_catalog.pg_create_logical_replication_slot(c.slot, 'pgoutput') IS NOT NULL AS created
FROM pgbridge.wal_capture AS c
WHERE EXISTS (SELECT FROM pgbridge.watch WHERE definition->>'capture' = 'wal')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = c.slot)
