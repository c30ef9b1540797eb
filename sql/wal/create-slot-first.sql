-- Before an install with a "capture": "wal" watch, outside its transaction: the capture slot,
-- if missing, so that it exists before the install commits. From its creation the slot keeps
-- every committed change; the table joins the publication (and a trigger watch's trigger goes)
-- in the install's commit, so no change falls between the trigger and the slot. Returns the
-- slot's name when it was created here. Nothing on a server without wal_level = logical: the
-- install then fails with the advice.
SELECT (pg_catalog.pg_create_logical_replication_slot(needed.name, 'pgoutput')).slot_name AS created
FROM (
  SELECT 'pgbridge_' || d.oid AS name FROM pg_catalog.pg_database AS d
  WHERE d.datname = pg_catalog.current_database() AND pg_catalog.current_setting('wal_level') = 'logical'
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = 'pgbridge_' || d.oid)
) AS needed
