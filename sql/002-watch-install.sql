-- Turns watch definitions (validated JSON from pgbridge.config.json) into capture triggers.
-- Identifiers only ever reach generated SQL through format('%I') and values through
-- format('%L'), so a table named "x; DROP TABLE y" is just an odd name. Every function pins
-- search_path to pg_catalog: otherwise a role allowed to create objects in a schema on the
-- installer's path (public, before PostgreSQL 15) could shadow format(), to_jsonb(), ... and
-- run code as the installer, or as every writer through a trigger's WHEN clause.

-- A json_build_object(...) over the given columns of NEW or OLD.
CREATE OR REPLACE FUNCTION pgbridge.json_object_sql(record_name text, column_names text[])
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  -- json_build_object takes at most 100 arguments, so wide lists are built in chunks of 50
  -- columns and merged.
  SELECT CASE WHEN count(*) = 1 THEN min(chunk) ELSE '(' || string_agg(chunk || '::jsonb', ' || ') || ')::json' END
  FROM (
    SELECT 'json_build_object(' || string_agg(format('%L, %s.%I', name, record_name, name), ', ' ORDER BY position) || ')' AS chunk
    FROM unnest(column_names) WITH ORDINALITY AS c(name, position)
    GROUP BY (position - 1) / 50
  ) AS chunks
$$;

-- ROW(OLD.a, OLD.b)::record *<> ROW(NEW.a, NEW.b)::record. The record image operator works for
-- every type (json and point have no equality operator), and naming the columns in a trigger's
-- WHEN makes Postgres refuse to drop them while the watch exists, instead of failing writes.
CREATE OR REPLACE FUNCTION pgbridge.columns_changed_sql(column_names text[])
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT format('(ROW(%s)::record *<> ROW(%s)::record)',
                string_agg(format('OLD.%I', name), ', '), string_agg(format('NEW.%I', name), ', '))
  FROM unnest(column_names) AS name
$$;

CREATE OR REPLACE FUNCTION pgbridge.assert_columns_exist(watch_name text, field text, wanted text[], existing text[], table_sql text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  missing text;
BEGIN
  SELECT name INTO missing FROM unnest(wanted) AS name WHERE name <> ALL (existing) LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'watch "%": % column "%" does not exist in % (columns: %)',
      watch_name, field, missing, table_sql, array_to_string(existing, ', ')
      USING ERRCODE = 'undefined_column';
  END IF;
END $$;

CREATE OR REPLACE FUNCTION pgbridge.create_watch(spec jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  watch_name   text := spec->>'name';
  schema_name  text := spec->>'schema';
  table_name   text := spec->>'table';
  label        text := spec->>'label';
  actions      text[] := ARRAY(SELECT jsonb_array_elements_text(spec->'actions'));
  columns      text[] := ARRAY(SELECT jsonb_array_elements_text(spec->'columns'));
  payload      text[] := ARRAY(SELECT jsonb_array_elements_text(spec->'payload'));
  exclude      text[] := ARRAY(SELECT jsonb_array_elements_text(spec->'exclude'));
  table_sql    text := format('%I.%I', spec->>'schema', spec->>'table');
  function_name text := 'capture_' || left(md5(spec->>'name'), 16);
  trigger_prefix text := 'pgbridge_' || left(md5(spec->>'name'), 12);
  target       regclass;
  kind         "char";
  all_columns  text[];
  key_columns  text[];
  sent_columns text[];
  key_new text; key_old text; row_new text; row_old text; update_condition text;
  row_events   text[];
BEGIN
  target := to_regclass(table_sql);
  IF target IS NULL THEN
    RAISE EXCEPTION 'watch "%": table % does not exist', watch_name, table_sql USING ERRCODE = 'undefined_table';
  END IF;
  SELECT relkind INTO kind FROM pg_class WHERE oid = target;
  IF kind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION 'watch "%": % is not a table (only tables and partitioned tables can be watched)', watch_name, table_sql;
  END IF;

  SELECT array_agg(attname::text ORDER BY attnum) INTO all_columns
  FROM pg_attribute WHERE attrelid = target AND attnum > 0 AND NOT attisdropped;
  PERFORM pgbridge.assert_columns_exist(watch_name, 'columns', columns, all_columns, table_sql);
  PERFORM pgbridge.assert_columns_exist(watch_name, 'payload', payload, all_columns, table_sql);
  PERFORM pgbridge.assert_columns_exist(watch_name, 'exclude', exclude, all_columns, table_sql);

  key_columns := pgbridge.primary_key_columns(target);

  key_new := CASE WHEN key_columns IS NULL THEN 'NULL' ELSE pgbridge.json_object_sql('NEW', key_columns) END;
  key_old := CASE WHEN key_columns IS NULL THEN 'NULL' ELSE pgbridge.json_object_sql('OLD', key_columns) END;

  -- "All columns" follows later ALTER TABLE ADD COLUMN without a re-install; an explicit
  -- payload list is fixed at install time.
  IF cardinality(payload) > 0 THEN
    sent_columns := ARRAY(SELECT c FROM unnest(payload) AS c WHERE c <> ALL (exclude));
    IF cardinality(sent_columns) = 0 THEN
      RAISE EXCEPTION 'watch "%": every payload column is excluded, nothing would be sent', watch_name;
    END IF;
  END IF;
  row_new := pgbridge.row_json_sql('NEW', payload, exclude);
  row_old := pgbridge.row_json_sql('OLD', payload, exclude);

  -- An UPDATE emits only when something the consumer can see changed: the `columns` of the
  -- watch, or else the columns that are sent.
  IF cardinality(columns) > 0 THEN
    update_condition := pgbridge.columns_changed_sql(columns);
  ELSIF sent_columns IS NOT NULL THEN
    update_condition := pgbridge.columns_changed_sql(sent_columns);
  ELSIF cardinality(exclude) > 0 THEN
    update_condition := format('((to_jsonb(OLD) - %1$L::text[]) IS DISTINCT FROM (to_jsonb(NEW) - %1$L::text[]))', exclude);
  ELSE
    update_condition := '(OLD *<> NEW)';
  END IF;

  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION pgbridge.%1$I() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $capture$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
        VALUES (%2$L, %3$L, 'insert', %4$L, %5$s, %7$s);
      ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, old_data)
        VALUES (%2$L, %3$L, 'update', %4$L, %5$s, %7$s, %8$s);
      ELSE
        INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
        VALUES (%2$L, %3$L, 'delete', %4$L, %6$s, %8$s);
      END IF;
      -- Constant payload: Postgres folds identical notifications of one transaction into one.
      IF (SELECT waiting FROM pgbridge.listener_state) THEN
        PERFORM pg_notify('pgbridge', '');
      END IF;
      RETURN NULL;
    END
    $capture$
  $f$, function_name, schema_name, table_name, label, key_new, key_old, row_new, row_old);
  EXECUTE format('REVOKE ALL ON FUNCTION pgbridge.%I() FROM PUBLIC', function_name);

  row_events := ARRAY(SELECT upper(a) FROM unnest(actions) AS a WHERE a IN ('insert', 'delete'));
  IF cardinality(row_events) > 0 THEN
    EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s FOR EACH ROW EXECUTE FUNCTION pgbridge.%I()',
                   trigger_prefix || '_row', array_to_string(row_events, ' OR '), table_sql, function_name);
  END IF;
  IF 'update' = ANY (actions) THEN
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE %s ON %s FOR EACH ROW WHEN %s EXECUTE FUNCTION pgbridge.%I()',
                   trigger_prefix || '_update',
                   CASE WHEN cardinality(columns) > 0
                        THEN 'OF ' || (SELECT string_agg(format('%I', c), ', ') FROM unnest(columns) AS c) ELSE '' END,
                   table_sql, update_condition, function_name);
  END IF;

  INSERT INTO pgbridge.watch (name, table_oid, schema_name, table_name, label, function_name, definition)
  VALUES (watch_name, target, schema_name, table_name, label, function_name, spec);
END $$;

CREATE OR REPLACE FUNCTION pgbridge.drop_watch(watch_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  function_name text;
BEGIN
  DELETE FROM pgbridge.watch WHERE name = watch_name RETURNING watch.function_name INTO function_name;
  -- CASCADE removes the function's triggers wherever they are, even if the table was renamed.
  EXECUTE format('DROP FUNCTION IF EXISTS pgbridge.%I() CASCADE', function_name);
END $$;

-- Makes the installed watches exactly `watches`: removed or changed ones are dropped, new ones
-- created, unchanged ones (same definition, triggers still on the same table) left alone so
-- that a listener restart does not lock every watched table.
CREATE OR REPLACE FUNCTION pgbridge.install_watches(watches jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  installed record;
  spec jsonb;
BEGIN
  FOR installed IN SELECT * FROM pgbridge.watch LOOP
    IF NOT (EXISTS (SELECT 1 FROM jsonb_array_elements(watches) AS w WHERE w = installed.definition)
            AND coalesce(to_regclass(format('%I.%I', installed.schema_name, installed.table_name)) = installed.table_oid, false)
            AND EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                        JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname = 'pgbridge' AND p.proname = installed.function_name
                          AND t.tgrelid = installed.table_oid)) THEN
      PERFORM pgbridge.drop_watch(installed.name);
    END IF;
  END LOOP;
  FOR spec IN SELECT * FROM jsonb_array_elements(watches) LOOP
    IF NOT EXISTS (SELECT 1 FROM pgbridge.watch WHERE name = spec->>'name') THEN
      PERFORM pgbridge.create_watch(spec);
    END IF;
  END LOOP;
END $$;
