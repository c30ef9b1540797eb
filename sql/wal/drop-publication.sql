-- Uninstall, in its transaction: the capture publication goes with the schema (it is not in
-- it) and the tables get their replica identity back; returns the slot's name, dropped after the
-- commit (a slot is not transactional). Only on a schema that has the function (009).
SELECT pgbridge.drop_wal_publication() AS slot
