-- After an install that left no WAL watch (and by a listener that finds none): the slot goes,
-- since a slot nobody reads keeps WAL on the server's disk without limit. Its unread changes
-- belonged to watches that are gone. Not while a listener streams it: that listener lets go of
-- it at its next look at the watches and drops it then.
SELECT pg_catalog.pg_drop_replication_slot(c.slot) IS NULL AS dropped
FROM pgbridge.wal_capture AS c
WHERE NOT EXISTS (SELECT FROM pgbridge.watch WHERE definition->>'capture' = 'wal')
  AND EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = c.slot AND NOT active)
