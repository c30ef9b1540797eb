-- $1: the watch's name, $2: the --where clause or NULL. The backfill's two statements, built
-- from the watch registry (see pgbridge.backfill_statements in 008-backfill.sql).
SELECT estimate, chunk FROM pgbridge.backfill_statements($1, $2)
