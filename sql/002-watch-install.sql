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

-- ROW(old.a, old.b)::record *<> ROW(new.a, new.b)::record (`operator` *<>), or *= . The record
-- image operators work for every type (json and point have no equality operator), and naming
-- the columns in a trigger's WHEN makes Postgres refuse to drop them while the watch exists,
-- instead of failing writes.
CREATE OR REPLACE FUNCTION pgbridge.compare_columns_sql(old_record text, operator text, new_record text, column_names text[])
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT format('(ROW(%s)::record %s ROW(%s)::record)',
                string_agg(format('%s.%I', old_record, name), ', '), operator, string_agg(format('%s.%I', new_record, name), ', '))
  FROM unnest(column_names) AS name
$$;

CREATE OR REPLACE FUNCTION pgbridge.columns_changed_sql(column_names text[])
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT pgbridge.compare_columns_sql('OLD', '*<>', 'NEW', column_names)
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

-- What the registry keeps of a watch: its definition plus the generation of the capture code, so
-- that a pgbridge release that generates different triggers (generation 2: a primary-key change
-- is sent as a delete and an insert; 3: statement-level capture; 4: a writer clears the flag
-- left by a listener that died asleep) re-creates the watches
-- installed by an older one.
CREATE OR REPLACE FUNCTION pgbridge.stored_definition(spec jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT spec || '{"generation": 4}'::jsonb
$$;

-- The names of the columns whose value differs between two row images (json objects).
CREATE OR REPLACE FUNCTION pgbridge.changed_between(new_row json, old_row json)
RETURNS json LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(json_agg(n.key), '[]')
  FROM json_each_text(new_row) AS n
  LEFT JOIN json_each_text(old_row) AS p ON p.key = n.key
  WHERE p.key IS NULL OR n.value IS DISTINCT FROM p.value
$$;

-- Two lists of column names as one, each name once, in order of first appearance.
CREATE OR REPLACE FUNCTION pgbridge.changed_union(earlier json, later json)
RETURNS json LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(json_agg(name ORDER BY list, position), '[]')
  FROM (
    SELECT DISTINCT ON (name) name, list, position
    FROM (SELECT name, 1 AS list, position FROM json_array_elements_text(earlier) WITH ORDINALITY AS e(name, position)
          UNION ALL
          SELECT name, 2 AS list, position FROM json_array_elements_text(later) WITH ORDINALITY AS l(name, position)) AS names
    ORDER BY name, list, position
  ) AS first_seen
$$;

-- A watch's `when` becomes the WHEN clause of its insert and delete triggers (the update
-- trigger adds it to its own). Postgres checks it there: syntax, column names, OLD in an insert
-- or NEW in a delete, subqueries (refused in WHEN). Its own message is kept, with the watch's name.
CREATE OR REPLACE FUNCTION pgbridge.create_conditional_triggers(
  watch_name text, target regclass, trigger_prefix text, function_name text, actions text[],
  row_condition text, update_of text, update_condition text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  action text;
BEGIN
  FOREACH action IN ARRAY ARRAY(SELECT a FROM unnest(actions) AS a WHERE a IN ('insert', 'update', 'delete')) LOOP
    BEGIN
      -- The newline ends the condition's last line, whatever it holds, before the rest of the statement.
      EXECUTE format(E'CREATE TRIGGER %I AFTER %s %s ON %s FOR EACH ROW WHEN (%s(%s\n)) EXECUTE FUNCTION pgbridge.%I()',
                     trigger_prefix || '_' || action, upper(action),
                     CASE WHEN action = 'update' THEN update_of ELSE '' END, target,
                     CASE WHEN action = 'update' THEN update_condition || ' AND ' ELSE '' END,
                     row_condition, function_name);
    EXCEPTION WHEN OTHERS THEN
      RAISE EXCEPTION 'watch "%": when: %', watch_name, SQLERRM ||
        CASE WHEN SQLSTATE = '42P17' THEN ' (an insert has NEW, an update NEW and OLD, a delete OLD: set the actions the condition fits)' ELSE '' END
        USING ERRCODE = SQLSTATE;
    END;
  END LOOP;
  PERFORM pgbridge.assert_condition_not_volatile(watch_name, target, trigger_prefix);
END $$;

-- The condition runs in every writer's transaction for every row, as the writing role. A
-- volatile function there could write, sleep or call out on every change, and would be
-- evaluated anew for each row; only immutable and stable functions (and operators) are allowed.
-- Postgres stores the parsed condition as a node tree in pg_trigger.tgqual: every function it
-- calls appears there as :funcid or :opfuncid.
CREATE OR REPLACE FUNCTION pgbridge.assert_condition_not_volatile(watch_name text, target regclass, trigger_prefix text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  volatile_function text;
BEGIN
  SELECT p.oid::regprocedure::text INTO volatile_function
  FROM pg_trigger AS t
  CROSS JOIN LATERAL regexp_matches(t.tgqual::text, ':(?:funcid|opfuncid) (\d+)', 'g') AS m(found)
  JOIN pg_proc AS p ON p.oid = m.found[1]::oid
  WHERE t.tgrelid = target AND t.tgname LIKE trigger_prefix || '\_%' AND p.provolatile = 'v'
  LIMIT 1;
  IF volatile_function IS NOT NULL THEN
    RAISE EXCEPTION 'watch "%": when: % is a volatile function; a condition may call only immutable or stable ones (it runs in every writer''s transaction, for every row)',
      watch_name, volatile_function USING ERRCODE = 'invalid_parameter_value';
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
  row_condition text := spec->>'when';
  truncate_branch text := '';
  update_branch text;
  update_of    text;
  coalesce_ms  numeric := (spec->>'coalesce')::numeric;
  coalesce_key_new text; coalesce_key_old text;
  insert_end_window text := ''; delete_end_window text := '';
  per_statement boolean;
  update_per_statement boolean;
  statement_actions text[];
  statement_branch text := '';
  key_change_marker text := format('pgbridge.key_changes_%s_', left(md5(spec->>'name'), 12));
  new_record text := 'pgbridge_new'; old_record text := 'pgbridge_old';
  update_statement_condition text;
  key_new_statement text; key_old_statement text;
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
  key_new_statement := CASE WHEN key_columns IS NULL THEN 'NULL' ELSE pgbridge.json_object_sql(new_record, key_columns) END;
  key_old_statement := CASE WHEN key_columns IS NULL THEN 'NULL' ELSE pgbridge.json_object_sql(old_record, key_columns) END;

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

  -- From the WAL: no trigger and no capture function; the listener reads the table's changes
  -- from the publication (sql/009-wal-capture.sql) and applies the watch's options itself.
  IF spec->>'capture' = 'wal' THEN
    IF kind <> 'r' THEN
      RAISE EXCEPTION 'watch "%": "capture": "wal" takes plain tables only (% is partitioned); leave "capture" out for a trigger', watch_name, table_sql;
    END IF;
    PERFORM pgbridge.add_wal_table(watch_name, target);
    function_name := CASE WHEN row_condition IS NULL THEN ''
                          ELSE pgbridge.create_wal_row_condition(watch_name, target, trigger_prefix, actions, row_condition) END;
    INSERT INTO pgbridge.watch (name, table_oid, schema_name, table_name, label, function_name, definition)
    VALUES (watch_name, target, schema_name, table_name, label, function_name, pgbridge.stored_definition(spec));
    RETURN;
  END IF;

  -- Statement-level capture: one trigger per action with its transition table, one INSERT ...
  -- SELECT into the outbox and one read of the waiting flag per statement instead of a function
  -- call, an insert and a read per row. Kept per row when the watch asks (`capture`: row,
  -- cheaper for single-row statements) and where a statement cannot say the same:
  --   `when` (a WHEN clause, checked by Postgres itself) and `coalesce` (a lookup per hot row);
  --   partitioned tables, partitions and inheritance: a parent's statement trigger sees rows of
  --   the children that row triggers never did, a child's does not fire for writes through its
  --   parent;
  --   updates of a table without a primary key (old and new rows cannot be paired) or with a
  --   deferrable one (keys swapped within one statement pair the wrong rows).
  per_statement := spec->>'capture' = 'statement' AND row_condition IS NULL AND coalesce_ms IS NULL AND kind = 'r'
                   AND NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = target OR inhparent = target);
  update_per_statement := per_statement AND key_columns IS NOT NULL
                          AND NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = target AND contype = 'p' AND condeferrable);
  statement_actions := ARRAY(SELECT a FROM unnest(actions) AS a
                             WHERE per_statement AND a IN ('insert', 'delete') OR update_per_statement AND a = 'update');

  -- An UPDATE emits only when something the consumer can see changed: the `columns` of the
  -- watch, or else the columns that are sent.
  IF cardinality(columns) > 0 THEN
    update_condition := pgbridge.columns_changed_sql(columns);
    update_statement_condition := pgbridge.compare_columns_sql(old_record, '*<>', new_record, columns);
  ELSIF sent_columns IS NOT NULL THEN
    update_condition := pgbridge.columns_changed_sql(sent_columns);
    update_statement_condition := pgbridge.compare_columns_sql(old_record, '*<>', new_record, sent_columns);
  ELSIF cardinality(exclude) > 0 THEN
    update_condition := format('((to_jsonb(OLD) - %1$L::text[]) IS DISTINCT FROM (to_jsonb(NEW) - %1$L::text[]))', exclude);
    update_statement_condition := format('((to_jsonb(%2$s) - %1$L::text[]) IS DISTINCT FROM (to_jsonb(%3$s) - %1$L::text[]))',
                                         exclude, old_record, new_record);
  ELSE
    update_condition := '(OLD *<> NEW)';
    update_statement_condition := format('(%s *<> %s)', old_record, new_record);
  END IF;

  update_branch := format($u$INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, old_data)
        VALUES (%1$L, %2$L, 'update', %3$L, %4$s, %5$s, %6$s);$u$, schema_name, table_name, label, key_new, row_new, row_old);

  -- coalesce: an update of a row whose latest event is an update of this watch, younger than the
  -- window, replaces that event (unless the listener holds it): newest row, first old, changed
  -- columns united, count kept. pgbridge.coalescing points to that latest update; an insert or
  -- delete of the row removes the pointer, so nothing is merged across it. The listener leaves
  -- a pointed-to event alone until its window has passed (drain/fetch-events), so no NOTIFY.
  IF coalesce_ms IS NOT NULL THEN
    IF key_columns IS NULL THEN
      RAISE EXCEPTION 'watch "%": coalesce needs a primary key to tell rows apart, and % has none', watch_name, table_sql
        USING ERRCODE = 'invalid_table_definition';
    END IF;
    coalesce_key_new := format('(%L || (%s)::text)', watch_name || ':', key_new);
    coalesce_key_old := format('(%L || (%s)::text)', watch_name || ':', key_old);
    insert_end_window := format(E'\n        DELETE FROM pgbridge.coalescing WHERE coalesce_key = %s;', coalesce_key_new);
    delete_end_window := format(E'\n        DELETE FROM pgbridge.coalescing WHERE coalesce_key = %s;', coalesce_key_old);
    update_branch := format($u$DECLARE
          previous pgbridge.outbox;
        BEGIN
          SELECT o.* INTO previous FROM pgbridge.coalescing AS c JOIN pgbridge.outbox AS o ON o.id = c.event_id
          WHERE c.coalesce_key = %5$s AND o.coalesce_until > clock_timestamp();
          IF FOUND THEN
            DELETE FROM pgbridge.outbox WHERE id IN (SELECT id FROM pgbridge.outbox WHERE id = previous.id FOR UPDATE SKIP LOCKED);
            IF FOUND THEN
              INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, old_data,
                                           coalesce_key, coalesce_until, coalesced, changed_columns)
              VALUES (%1$L, %2$L, 'update', %3$L, %4$s, %6$s, previous.old_data, %5$s, previous.coalesce_until,
                      coalesce(previous.coalesced, 1) + 1,
                      pgbridge.changed_union(coalesce(previous.changed_columns, pgbridge.changed_between(previous.row_data, previous.old_data)),
                                             pgbridge.changed_between(%6$s, %7$s)))
              RETURNING id INTO previous.id;
              UPDATE pgbridge.coalescing SET event_id = previous.id WHERE coalesce_key = %5$s;
              RETURN NULL;
            END IF;
          END IF;
          INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, old_data, coalesce_key, coalesce_until)
          VALUES (%1$L, %2$L, 'update', %3$L, %4$s, %6$s, %7$s, %5$s, clock_timestamp() + %8$L::interval)
          RETURNING id INTO previous.id;
          INSERT INTO pgbridge.coalescing (coalesce_key, event_id) VALUES (%5$s, previous.id)
          ON CONFLICT (coalesce_key) DO UPDATE SET event_id = excluded.event_id;
          RETURN NULL;
        END;$u$, schema_name, table_name, label, key_new, coalesce_key_new, row_new, row_old, coalesce_ms || ' milliseconds');
  END IF;
  -- A new primary key is a new FIFO message group: sent as an update it would leave the old
  -- key's group, and could overtake that row's earlier events. A delete of the old key and an
  -- insert of the new one each stay in order within their own group; `key_change` links them.
  -- Compared by image, like the group id, which is built from the key's text.
  IF update_per_statement THEN
    -- Per statement, a row whose key changed is still captured per row (its old and new image
    -- cannot be paired by key), by a row trigger that fires only for it, before the statement's
    -- trigger. A key that one row leaves and another takes within the statement (a chain, not a
    -- swap: the key is not deferrable) would pair two rows: the first event id of the statement's
    -- key changes, in a transaction-local setting per trigger depth, tells the statement trigger
    -- which new keys to leave to the row trigger.
    update_branch := format($u$INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, key_change)
        VALUES (%1$L, %2$L, 'delete', %3$L, %5$s, %7$s, json_build_object('old', %5$s, 'new', %4$s))
        RETURNING id INTO capture.key_change_from;
        INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, key_change)
        VALUES (%1$L, %2$L, 'insert', %3$L, %4$s, %6$s, json_build_object('old', %5$s, 'new', %4$s));
        IF coalesce(current_setting(%8$L || pg_trigger_depth(), true), '') = '' THEN
          PERFORM set_config(%8$L || pg_trigger_depth(), capture.key_change_from::text, true);
        END IF;$u$, schema_name, table_name, label, key_new, key_old, row_new, row_old, key_change_marker);
  ELSIF key_columns IS NOT NULL THEN
    update_branch := format($u$IF %1$s THEN
          INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, key_change)
          VALUES (%2$L, %3$L, 'delete', %4$L, %6$s, %8$s, json_build_object('old', %6$s, 'new', %5$s));
          INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, key_change)
          VALUES (%2$L, %3$L, 'insert', %4$L, %5$s, %7$s, json_build_object('old', %6$s, 'new', %5$s));%10$s
        ELSE
          %9$s
        END IF;$u$, pgbridge.columns_changed_sql(key_columns), schema_name, table_name, label,
        key_new, key_old, row_new, row_old, replace(update_branch, E'\n', E'\n  '), replace(delete_end_window, E'\n', E'\n  '));
  END IF;
  IF 'truncate' = ANY (actions) THEN
    -- With coalesce, a truncate also ends every window of the watch: a waiting update must go
    -- out before the truncate, as with a delete.
    truncate_branch := format($t$IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO pgbridge.outbox (schema_name, table_name, action, label)
        VALUES (%L, %L, 'truncate', %L);%s
      ELS$t$, schema_name, table_name, label,
      CASE WHEN coalesce_ms IS NULL THEN ''
           ELSE format(E'\n        DELETE FROM pgbridge.coalescing WHERE left(coalesce_key, %s) = %L;',
                       length(watch_name) + 1, watch_name || ':') END);
  END IF;

  IF cardinality(statement_actions) > 0 THEN
    statement_branch := format(E'IF TG_LEVEL = \'STATEMENT\' THEN\n        %s\n        END IF;\n'
                               '        -- Nothing sent (no row, or none that changed what the watch sends): no wake-up.\n'
                               '        IF NOT FOUND THEN\n          RETURN NULL;\n        END IF;\n      ELS', (
      SELECT string_agg(format(E'IF TG_OP = %L THEN\n          %s', upper(a), CASE a
        WHEN 'insert' THEN format($s$INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
          SELECT %L, %L, 'insert', %L, %s, %s FROM pgbridge_inserted AS %s;$s$,
          schema_name, table_name, label, key_new_statement,
          pgbridge.row_json_sql(new_record, payload, exclude), new_record)
        WHEN 'delete' THEN format($s$INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
          SELECT %L, %L, 'delete', %L, %s, %s FROM pgbridge_deleted AS %s;$s$,
          schema_name, table_name, label, key_old_statement,
          pgbridge.row_json_sql(old_record, payload, exclude), old_record)
        ELSE format($s$capture.key_change_from := nullif(current_setting(%1$L || pg_trigger_depth(), true), '')::bigint;
          IF capture.key_change_from IS NOT NULL THEN
            PERFORM set_config(%1$L || pg_trigger_depth(), '', true);
          END IF;
          INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, old_data)
          SELECT %2$L, %3$L, 'update', %4$L, %5$s, %6$s, %7$s
          FROM pgbridge_new_rows AS %8$s JOIN pgbridge_old_rows AS %9$s ON %10$s AND %11$s
          WHERE %12$s
            AND (capture.key_change_from IS NULL OR NOT EXISTS (
                   SELECT FROM pgbridge.outbox AS changed
                   WHERE changed.id >= capture.key_change_from AND changed.txid = txid_current() AND changed.action = 'insert'
                     AND changed.key_change IS NOT NULL AND changed.schema_name = %2$L AND changed.table_name = %3$L
                     AND changed.key::text = (%5$s)::text));$s$,
          key_change_marker, schema_name, table_name, label, key_new_statement,
          pgbridge.row_json_sql(new_record, payload, exclude), pgbridge.row_json_sql(old_record, payload, exclude),
          new_record, old_record,
          (SELECT string_agg(format('%s.%I = %s.%I', old_record, k, new_record, k), ' AND ') FROM unnest(key_columns) AS k),
          pgbridge.compare_columns_sql(old_record, '*=', new_record, key_columns), update_statement_condition)
        END), E'\n        ELS' ORDER BY a)
      FROM unnest(statement_actions) AS a));
  END IF;

  -- With no option that needs them, %9$s to %13$s produce the function as it always was: the
  -- writers' cost of a plain watch does not change.
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION pgbridge.%1$I() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp%14$s AS $capture$
    <<capture>>
    DECLARE
      key_change_from bigint;
    BEGIN
      %9$s%13$sIF TG_OP = 'INSERT' THEN
        INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
        VALUES (%2$L, %3$L, 'insert', %4$L, %5$s, %7$s);%11$s
      ELSIF TG_OP = 'UPDATE' THEN
        %10$s
      ELSE
        INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
        VALUES (%2$L, %3$L, 'delete', %4$L, %6$s, %8$s);%12$s
      END IF;
      -- Constant payload: Postgres folds identical notifications of one transaction into one.
      -- A sleeping listener holds the waiting lock for as long as its session lives: when the
      -- shared lock is free, the flag was left by a listener that died asleep and nobody listens.
      IF (SELECT waiting FROM pgbridge.listener_state) THEN
        IF NOT pg_try_advisory_xact_lock_shared(hashtext('pgbridge.waiting')) THEN
          PERFORM pg_notify('pgbridge', '');
        ELSIF current_setting('transaction_isolation') = 'read committed' THEN
          -- Cleared here, so that from this commit on writers skip even the lock check, as if
          -- the listener had never slept. Safe: while this transaction holds the shared lock no
          -- listener can take the waiting lock, so none can be asleep counting on the flag.
          -- SKIP LOCKED: a writer never waits for another writer that is clearing it.
          -- Not under repeatable read or serializable, where touching a row another session
          -- changed since the snapshot would fail the writer's transaction.
          UPDATE pgbridge.listener_state SET waiting = false
          WHERE singleton IN (SELECT singleton FROM pgbridge.listener_state WHERE waiting FOR UPDATE SKIP LOCKED);
        END IF;
      END IF;
      RETURN NULL;
    END
    $capture$
  $f$, function_name, schema_name, table_name, label, key_new, key_old, row_new, row_old, truncate_branch, update_branch,
     insert_end_window, delete_end_window, statement_branch,
     -- The statement's update query pairs old and new rows with a join. plpgsql keeps the plan of
     -- its first run, made for that statement's row count: a nested loop planned for one row would
     -- then pair a later 200,000-row update in quadratic time (minutes instead of a second). A
     -- hash or merge join is right for any count. No other query of such a function joins.
     CASE WHEN 'update' = ANY (statement_actions) THEN ' SET enable_nestloop = off' ELSE '' END);
  EXECUTE format('REVOKE ALL ON FUNCTION pgbridge.%I() FROM PUBLIC', function_name);

  update_of := CASE WHEN cardinality(columns) > 0
                    THEN 'OF ' || (SELECT string_agg(format('%I', c), ', ') FROM unnest(columns) AS c) ELSE '' END;
  IF row_condition IS NULL THEN
    row_events := ARRAY(SELECT upper(a) FROM unnest(actions) AS a WHERE a IN ('insert', 'delete') AND a <> ALL (statement_actions));
    IF cardinality(row_events) > 0 THEN
      EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s FOR EACH ROW EXECUTE FUNCTION pgbridge.%I()',
                     trigger_prefix || '_row', array_to_string(row_events, ' OR '), table_sql, function_name);
    END IF;
    IF 'insert' = ANY (statement_actions) THEN
      EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS pgbridge_inserted FOR EACH STATEMENT EXECUTE FUNCTION pgbridge.%I()',
                     trigger_prefix || '_insert', table_sql, function_name);
    END IF;
    IF 'delete' = ANY (statement_actions) THEN
      EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS pgbridge_deleted FOR EACH STATEMENT EXECUTE FUNCTION pgbridge.%I()',
                     trigger_prefix || '_delete', table_sql, function_name);
    END IF;
    IF 'update' = ANY (statement_actions) THEN
      EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS pgbridge_old_rows NEW TABLE AS pgbridge_new_rows FOR EACH STATEMENT EXECUTE FUNCTION pgbridge.%I()',
                     trigger_prefix || '_update', table_sql, function_name);
      -- The row update trigger's column list and condition, as before: the same key changes are
      -- sent, and the columns they name still cannot be dropped while the watch exists.
      EXECUTE format('CREATE TRIGGER %I AFTER UPDATE %s ON %s FOR EACH ROW WHEN (%s AND %s) EXECUTE FUNCTION pgbridge.%I()',
                     trigger_prefix || '_key_change', update_of, table_sql, update_condition,
                     pgbridge.columns_changed_sql(key_columns), function_name);
    ELSIF 'update' = ANY (actions) THEN
      EXECUTE format('CREATE TRIGGER %I AFTER UPDATE %s ON %s FOR EACH ROW WHEN %s EXECUTE FUNCTION pgbridge.%I()',
                     trigger_prefix || '_update', update_of, table_sql, update_condition, function_name);
    END IF;
  ELSE
    PERFORM pgbridge.create_conditional_triggers(watch_name, target, trigger_prefix, function_name, actions,
                                                 row_condition, update_of, update_condition);
  END IF;
  IF 'truncate' = ANY (actions) THEN
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION pgbridge.%I()',
                   trigger_prefix || '_truncate', table_sql, function_name);
  END IF;

  INSERT INTO pgbridge.watch (name, table_oid, schema_name, table_name, label, function_name, definition)
  VALUES (watch_name, target, schema_name, table_name, label, function_name, pgbridge.stored_definition(spec));
END $$;

CREATE OR REPLACE FUNCTION pgbridge.drop_watch(watch_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  function_name text;
  watched_table oid;
  from_wal boolean;
BEGIN
  DELETE FROM pgbridge.watch WHERE name = watch_name RETURNING watch.function_name, watch.table_oid, watch.definition->>'capture' = 'wal'
    INTO function_name, watched_table, from_wal;
  IF from_wal THEN
    IF function_name <> '' THEN
      EXECUTE format('DROP FUNCTION IF EXISTS pgbridge.%I(json, json)', function_name);
    END IF;
    PERFORM pgbridge.remove_wal_table(watched_table);
    RETURN;
  END IF;
  DELETE FROM pgbridge.coalescing WHERE left(coalesce_key, length(watch_name) + 1) = watch_name || ':';
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
    IF NOT (EXISTS (SELECT 1 FROM jsonb_array_elements(watches) AS w WHERE pgbridge.stored_definition(w) = installed.definition)
            AND coalesce(to_regclass(format('%I.%I', installed.schema_name, installed.table_name)) = installed.table_oid, false)
            AND (EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                         JOIN pg_namespace n ON n.oid = p.pronamespace
                         WHERE n.nspname = 'pgbridge' AND p.proname = installed.function_name
                           AND t.tgrelid = installed.table_oid)
                 OR installed.definition->>'capture' = 'wal'
                    AND EXISTS (SELECT 1 FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
                                WHERE p.pubname = (SELECT publication FROM pgbridge.wal_capture)
                                  AND r.prrelid = installed.table_oid)
                    AND (installed.function_name = ''
                         OR EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                    WHERE n.nspname = 'pgbridge' AND p.proname = installed.function_name)))) THEN
      PERFORM pgbridge.drop_watch(installed.name);
    END IF;
  END LOOP;
  FOR spec IN SELECT * FROM jsonb_array_elements(watches) LOOP
    IF NOT EXISTS (SELECT 1 FROM pgbridge.watch WHERE name = spec->>'name') THEN
      PERFORM pgbridge.create_watch(spec);
    END IF;
  END LOOP;
END $$;
