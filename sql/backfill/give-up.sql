-- `--restart`: the unfinished backfill of the same watch, where clause and target is given up
-- (its events already written still go out), so that a new one starts from the first key.
UPDATE pgbridge.backfill
SET state = 'restarted', updated_at = now(), finished_at = now()
WHERE watch_name = $1 AND where_clause IS NOT DISTINCT FROM $2 AND target IS NOT DISTINCT FROM $3 AND state = 'running'
RETURNING id::text AS id
