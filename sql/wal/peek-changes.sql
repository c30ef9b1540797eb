-- The next committed changes of the published tables, without consuming them: they stay in
-- the slot until wal/confirm moves it past them. $1 slot, $2 read up to this position, $3 about
-- this many messages (whole transactions: the last one may run over), $4 publication.
SELECT lsn::text, data
FROM pg_catalog.pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, $3, 'proto_version', '1', 'publication_names', $4)
