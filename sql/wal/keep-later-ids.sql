-- After a round read from $1 used the first $2 of the ids kept there: the rest is kept for the
-- round that reads from $3, where the slot now stands (they are the ids the transactions after
-- this round had when a longer round sent them before).
INSERT INTO pgbridge.wal_round (read_from, ids)
SELECT $3::pg_lsn, r.ids[$2::int + 1:] FROM pgbridge.wal_round AS r
WHERE r.read_from = $1::pg_lsn AND cardinality(r.ids) > $2::int
ON CONFLICT (read_from) DO NOTHING
