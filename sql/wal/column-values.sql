-- $1 table oid, $2 row images (see pgbridge.wal_column_values): each column's JSON, as text so
-- that the driver does not parse (and round) it.
SELECT image, column_name, value::text AS value FROM pgbridge.wal_column_values($1::oid::regclass, $2::json)
