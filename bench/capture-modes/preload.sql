-- Before every run: 200,000 rows for the update workloads to change (each pgbench client owns a
-- range of 25,000), written without firing the capture triggers (the role is a superuser).
SET session_replication_role = replica;
TRUNCATE items;
INSERT INTO items (id, n, note) SELECT g, g, 'preloaded' FROM generate_series(1, 200000) AS g;
SELECT setval(pg_get_serial_sequence('items', 'id'), 200000);
RESET session_replication_role;
