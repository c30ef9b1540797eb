-- Capture from the write-ahead log (a watch's `"capture": "wal"`): no trigger, writers pay for
-- nothing but the WAL Postgres writes anyway. The watched tables are in one publication, a
-- logical replication slot (pgoutput) keeps their changes until the listener has published
-- them, and the listener confirms the slot's position only after AWS accepted.

-- The publication and slot of this database. The slot name carries the database's oid: slots
-- are per server, and two databases of one server may both run pgbridge.
CREATE TABLE IF NOT EXISTS pgbridge.wal_capture (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  publication text NOT NULL,
  slot        text NOT NULL
);
INSERT INTO pgbridge.wal_capture (publication, slot)
SELECT 'pgbridge_capture', 'pgbridge_' || oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()
ON CONFLICT DO NOTHING;

-- The event ids of a listener round that AWS may have accepted but the slot has not confirmed,
-- by the slot position the round read from: a round read again from there (after a crash, or a
-- retry) gives its events, in the same order, the same ids, so consumers and a FIFO topic's
-- deduplication can tell the copies. A shorter round leaves the rest of the ids under the
-- position it confirmed, for the round after it. Ids come from the outbox's own generator:
-- unique among all of the database's events.
CREATE TABLE IF NOT EXISTS pgbridge.wal_round (
  read_from pg_lsn PRIMARY KEY,
  ids       bigint[] NOT NULL
);

-- Tables whose replica identity pgbridge set to FULL (so the WAL carries a row's old values on
-- update and delete), with the setting they had: removing the last WAL watch of a table puts it back.
CREATE TABLE IF NOT EXISTS pgbridge.wal_table (
  table_oid         oid PRIMARY KEY,
  previous_identity "char" NOT NULL,
  -- With REPLICA IDENTITY USING INDEX: that index.
  previous_index    oid
);

-- The JSON value of each column of row images given as pgoutput's text output ($2: an array of
-- objects, column name to text; json and jsonb columns as JSON): each value goes through its
-- type's input function and comes out as to_json writes it, the same values a trigger sends.
-- Columns missing from an image (not in the WAL, such as generated ones) are left out.
CREATE OR REPLACE FUNCTION pgbridge.wal_column_values(relation regclass, images json)
RETURNS TABLE (image bigint, column_name text, value json)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT i.n, c.key, c.value
     FROM json_array_elements($1) WITH ORDINALITY AS i(image, n)
     CROSS JOIN LATERAL json_each(to_json(json_populate_record(NULL::%s, i.image))) AS c
     WHERE c.key IN (SELECT json_object_keys(i.image))', relation) USING images;
END $$;

-- A WAL watch's `when`: the listener keeps a change only if the condition holds for the row's
-- images, as a trigger's WHEN would have. Postgres checks the condition as it does for a trigger
-- watch (syntax, NEW in an insert and OLD in a delete only, no subquery, no volatile function):
-- the same triggers are created on a function that does nothing, checked, and rolled back with
-- their subtransaction. Then a function of the two images ($1 new, $2 old, as row-image JSON)
-- evaluates it; its body is text, so it does not pin the table (DROP TABLE needs no CASCADE).
CREATE OR REPLACE FUNCTION pgbridge.wal_condition_check()
RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;

CREATE OR REPLACE FUNCTION pgbridge.create_wal_row_condition(
  watch_name text, target regclass, trigger_prefix text, actions text[], row_condition text)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  function_name text := 'wal_condition_' || left(md5(watch_name), 16);
BEGIN
  BEGIN
    PERFORM pgbridge.create_conditional_triggers(watch_name, target, trigger_prefix || '_check', 'wal_condition_check',
                                                 actions, row_condition, '', 'true');
    RAISE EXCEPTION 'condition checked' USING ERRCODE = 'PBCHK';
  EXCEPTION WHEN SQLSTATE 'PBCHK' THEN
    NULL;
  END;
  EXECUTE format('DROP FUNCTION IF EXISTS pgbridge.%I(json, json)', function_name);
  -- The newline ends the condition's last line, whatever it holds, before the rest of the query.
  -- The body is parsed again in the listener's session: its settings are the install's, so that
  -- a literal means there what the check above read.
  BEGIN
    EXECUTE format('CREATE FUNCTION pgbridge.%I(json, json) RETURNS boolean LANGUAGE sql STABLE
                    SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS %L',
                   function_name,
                   format(E'SELECT (%s\n) FROM json_populate_record(NULL::%s, $1) AS new, json_populate_record(NULL::%s, $2) AS old',
                          row_condition, target, target));
  EXCEPTION WHEN OTHERS THEN
    -- What a trigger accepts and a row image has not: system columns (ctid, xmin, ...).
    RAISE EXCEPTION 'watch "%": when: % (a "capture": "wal" watch''s condition sees the row''s columns only)', watch_name, SQLERRM
      USING ERRCODE = SQLSTATE;
  END;
  RETURN function_name;
END $$;

-- Evaluates a WAL watch's `when` for pairs of row images ($2: an array of {"new": image, "old":
-- image}, images as for wal_column_values): whether each pair passes. NULL counts as false, as
-- in a trigger's WHEN.
CREATE OR REPLACE FUNCTION pgbridge.wal_row_conditions(watch_name text, pairs json)
RETURNS TABLE (pair bigint, passes boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  condition_function text := (SELECT w.function_name FROM pgbridge.watch AS w WHERE w.name = watch_name);
BEGIN
  IF coalesce(condition_function, '') = '' THEN
    RAISE EXCEPTION 'watch "%" has no WAL row condition (removed or changed since the listener read it)', watch_name
      USING ERRCODE = 'undefined_function';
  END IF;
  RETURN QUERY EXECUTE format(
    'SELECT p.n, coalesce(pgbridge.%I(CASE WHEN json_typeof(p.pair->''new'') = ''object'' THEN p.pair->''new'' END,
                                      CASE WHEN json_typeof(p.pair->''old'') = ''object'' THEN p.pair->''old'' END), false)
     FROM json_array_elements($1) WITH ORDINALITY AS p(pair, n)', condition_function) USING pairs;
END $$;

-- Puts a table into the capture publication with a FULL replica identity (installs only).
CREATE OR REPLACE FUNCTION pgbridge.add_wal_table(watch_name text, target regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  publication_name text := (SELECT publication FROM pgbridge.wal_capture);
  identity "char";
BEGIN
  IF current_setting('wal_level') <> 'logical' THEN
    RAISE EXCEPTION 'watch "%": "capture": "wal" needs wal_level = logical (this server has %)', watch_name, current_setting('wal_level')
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'set wal_level = logical and restart Postgres (RDS and Aurora: rds.logical_replication = 1 in the parameter group, then reboot), or leave "capture" out to capture with a trigger';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = publication_name) THEN
    -- Stored generated columns go into the WAL too where Postgres can (18 and later): their
    -- values then reach the events, and PostgreSQL 18 refuses updates of a table with a FULL
    -- identity and an unpublished generated column.
    IF current_setting('server_version_num')::int >= 180000 THEN
      EXECUTE format('CREATE PUBLICATION %I WITH (publish = %L, publish_generated_columns = stored)',
                     publication_name, 'insert, update, delete, truncate');
    ELSE
      EXECUTE format('CREATE PUBLICATION %I WITH (publish = %L)', publication_name, 'insert, update, delete, truncate');
    END IF;
  ELSIF current_setting('server_version_num')::int >= 180000 THEN
    -- A publication created before the server was upgraded to 18 lacks it.
    EXECUTE format('ALTER PUBLICATION %I SET (publish_generated_columns = stored)', publication_name);
  END IF;
  IF NOT EXISTS (SELECT FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
                 WHERE p.pubname = publication_name AND r.prrelid = target) THEN
    EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', publication_name, target);
  END IF;
  SELECT relreplident INTO identity FROM pg_class WHERE oid = target;
  IF identity <> 'f' THEN
    INSERT INTO pgbridge.wal_table (table_oid, previous_identity, previous_index)
    VALUES (target, identity, (SELECT indexrelid FROM pg_index WHERE indrelid = target AND indisreplident))
    ON CONFLICT DO NOTHING;
    EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', target);
  END IF;
END $$;

-- Takes a table out of the publication once no WAL watch is left on it, and gives it back the
-- replica identity it had.
CREATE OR REPLACE FUNCTION pgbridge.remove_wal_table(target oid)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  publication_name text := (SELECT publication FROM pgbridge.wal_capture);
  previous pgbridge.wal_table;
BEGIN
  IF EXISTS (SELECT FROM pgbridge.watch WHERE table_oid = target AND definition->>'capture' = 'wal') THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
             WHERE p.pubname = publication_name AND r.prrelid = target) THEN
    EXECUTE format('ALTER PUBLICATION %I DROP TABLE %s', publication_name, target::regclass);
  END IF;
  DELETE FROM pgbridge.wal_table WHERE table_oid = target RETURNING * INTO previous;
  -- In a publication of someone else's, the table keeps FULL: without a replica identity a
  -- published table refuses updates and deletes.
  IF previous.table_oid IS NOT NULL
     AND (EXISTS (SELECT FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
                  WHERE r.prrelid = target AND p.pubname <> publication_name)
          OR EXISTS (SELECT FROM pg_publication WHERE puballtables AND pubname <> publication_name)) THEN
    RAISE NOTICE 'table % keeps REPLICA IDENTITY FULL: it is in another publication', target::regclass;
    RETURN;
  END IF;
  IF previous.table_oid IS NOT NULL AND EXISTS (SELECT FROM pg_class WHERE oid = target) THEN
    EXECUTE format('ALTER TABLE %s REPLICA IDENTITY %s', target::regclass,
                   CASE WHEN previous.previous_identity = 'n' THEN 'NOTHING'
                        WHEN previous.previous_identity = 'i' AND EXISTS (SELECT FROM pg_class WHERE oid = previous.previous_index)
                          THEN format('USING INDEX %I', (SELECT relname FROM pg_class WHERE oid = previous.previous_index))
                        ELSE 'DEFAULT' END);
  END IF;
END $$;

-- Uninstall: drops the capture publication, and returns the slot's name for the caller to drop
-- once the uninstall has committed.
CREATE OR REPLACE FUNCTION pgbridge.drop_wal_publication()
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  capture pgbridge.wal_capture;
  tables oid[];
BEGIN
  SELECT * INTO capture FROM pgbridge.wal_capture;
  WITH removed AS (DELETE FROM pgbridge.watch WHERE definition->>'capture' = 'wal' RETURNING table_oid)
  SELECT array_agg(DISTINCT table_oid) INTO tables FROM removed;
  PERFORM pgbridge.remove_wal_table(t) FROM unnest(tables) AS t;
  EXECUTE format('DROP PUBLICATION IF EXISTS %I', capture.publication);
  RETURN capture.slot;
END $$;
