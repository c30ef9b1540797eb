-- $1 watch name, $2 where clause, $3 target, $4 estimated rows: a new backfill, before its first chunk.
INSERT INTO pgbridge.backfill (watch_name, where_clause, target, rows_estimate)
VALUES ($1, $2, $3, $4)
RETURNING id::text AS id, last_key::text AS last_key, rows_done
