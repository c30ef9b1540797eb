-- Install resolves every name in pg_catalog only: a function planted in a schema on the
-- caller's search_path must not end up in a column default or a trigger. A watched table
-- busy with a long transaction makes install fail after 5 s instead of queueing writers
-- behind its trigger lock.
SET LOCAL search_path = pg_catalog, pg_temp;
SET LOCAL lock_timeout = '5s';
