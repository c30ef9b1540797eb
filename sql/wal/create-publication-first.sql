-- Before the capture slot is first created (sql/wal/create-slot-first): the publication it is
-- read with, empty, in a transaction of its own. Before PostgreSQL 16, decoding a change made
-- before the publication existed fails ("publication does not exist"), so it must be older than
-- the slot. Its name is the one 009-wal-capture.sql records. Nothing without wal_level = logical.
DO $publication$
BEGIN
  IF pg_catalog.current_setting('wal_level') = 'logical'
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = 'pgbridge_capture') THEN
    -- Stored generated columns go into the WAL too where Postgres can (18 and later); see
    -- pgbridge.add_wal_table.
    IF pg_catalog.current_setting('server_version_num')::int >= 180000 THEN
      CREATE PUBLICATION pgbridge_capture WITH (publish = 'insert, update, delete, truncate', publish_generated_columns = stored);
    ELSE
      CREATE PUBLICATION pgbridge_capture WITH (publish = 'insert, update, delete, truncate');
    END IF;
  END IF;
END
$publication$
