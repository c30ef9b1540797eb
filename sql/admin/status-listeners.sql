-- Listener sessions in this database, the leader first: the holder of the leader lock
-- (admin/try-leader-lock.sql), then standbys. application_name ("pgbridge-listener pid@host")
-- is visible to every role, client_addr only to privileged ones. `since` comes from
-- pgbridge.leadership, believed only when that row is the holder's.
WITH holder AS (SELECT pgbridge.advisory_lock_holder('pgbridge.leader') AS pid)
SELECT a.pid AS backend_pid, a.application_name, host(a.client_addr) AS client_addr,
       a.pid = holder.pid AS leader,
       CASE WHEN l.backend_pid = holder.pid AND a.pid = holder.pid THEN l.since END AS since
FROM pg_stat_activity AS a
CROSS JOIN holder
LEFT JOIN pgbridge.leadership AS l ON true
WHERE a.datname = current_database() AND (a.pid = holder.pid OR a.application_name LIKE 'pgbridge-listener %')
ORDER BY a.pid = holder.pid DESC NULLS LAST, a.pid
