-- The outbox's footprint at one moment of a soak: rows waiting (exact), main-fork heap and index
-- sizes in bytes, dead tuples and autovacuum runs as the statistics collector last saw them, the
-- newest event's id (NULL when empty) and the listener's waiting flag.
SELECT (SELECT count(*) FROM pgbridge.outbox)::bigint AS rows,
       pg_relation_size(s.relid) AS heap_bytes,
       pg_indexes_size(s.relid) AS index_bytes,
       s.n_dead_tup AS dead_tuples,
       s.autovacuum_count AS autovacuum_count,
       (SELECT max(id) FROM pgbridge.outbox) AS newest_id,
       (SELECT waiting FROM pgbridge.listener_state) AS waiting_flag
FROM pg_stat_user_tables AS s
WHERE s.relid = 'pgbridge.outbox'::regclass
