-- The unfinished backfill of the same watch, where clause and target, if any: running the same
-- command again continues it after its last committed chunk.
SELECT id::text AS id, last_key::text AS last_key, rows_done
FROM pgbridge.backfill
WHERE watch_name = $1 AND where_clause IS NOT DISTINCT FROM $2 AND target IS NOT DISTINCT FROM $3 AND state = 'running'
ORDER BY id DESC
LIMIT 1
