-- Backfills, oldest first, for `pgbridge backfill status` (every one) and `pgbridge status`
-- ($1 true: only the unfinished ones, running or interrupted). A running one whose session no
-- longer holds its advisory lock (see lock.sql) was interrupted: running the same command again
-- continues it.
SELECT b.id::text AS id, b.watch_name, b.where_clause, b.target,
       CASE WHEN b.state <> 'running' THEN b.state
            WHEN EXISTS (SELECT FROM pg_locks AS l
                         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                           AND l.classid = hashtext('pgbridge.backfill')::oid AND l.objid = b.id::oid) THEN 'running'
            ELSE 'interrupted' END AS state,
       b.rows_done, b.rows_estimate, b.started_at, b.updated_at, b.finished_at
FROM pgbridge.backfill AS b
WHERE b.state = 'running' OR NOT $1::boolean
ORDER BY b.id
