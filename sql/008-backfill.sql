-- Backfills (`pgbridge backfill`): a `read` event for every existing row of a watched table,
-- written into the outbox in key-ordered chunks, so the listener publishes them like any other
-- event (same batching, size limits, parking and, on FIFO, the row's place in its group).

-- One row per backfill: what it reads and how far it got. `last_key` is the key of the last row
-- of the last committed chunk, updated in the chunk's own transaction, so a killed backfill
-- resumes right after it. state: running (or interrupted, when no session holds its advisory
-- lock), done, restarted (given up for a new one by --restart).
CREATE TABLE IF NOT EXISTS pgbridge.backfill (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  watch_name    text        NOT NULL,
  where_clause  text,
  target        text,
  state         text        NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'restarted')),
  last_key      json,
  rows_done     bigint      NOT NULL DEFAULT 0,
  rows_estimate bigint,
  started_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  finished_at   timestamptz
);

-- The statements of a backfill of `watch_name`, built from the watch registry with every
-- identifier through %I and every name through %L: `estimate` selects the rows to read (for
-- EXPLAIN's row estimate, and to have Postgres check `where_clause` before anything is sent);
-- `chunk` reads the next chunk and writes its events and progress in one statement.
--   chunk parameters: $1 backfill id, $2 the last key done (NULL at the start), $3 chunk size,
--   $4 target. It returns rows, the chunk's first event id, and the backfill's state.
-- The chunk is a key range (last key, key of the chunk's last row]: the bound is found first
-- without locks, then the rows in range are read FOR SHARE, so a writer updating one of them
-- waits for the chunk's commit (or the chunk for the writer, and reads its version): a row's
-- live events and its read enter the outbox in commit order, and go out in that order.
-- `where_clause` is the caller's own SQL and runs with the caller's rights; it ends with a
-- newline so that a trailing comment cannot swallow the rest. The caller runs the statements
-- through the extended protocol, which refuses a where clause that smuggles in a second one.
CREATE OR REPLACE FUNCTION pgbridge.backfill_statements(watch_name text, where_clause text)
RETURNS TABLE (estimate text, chunk text) LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  watch     pgbridge.watch;
  target    regclass;
  keys      text[];
  key_list  text;
  after_last text;
  up_to_bound text;
  key_json  text;
  row_json  text;
  condition text := format(E'(%s\n)', coalesce(where_clause, 'true'));
BEGIN
  SELECT * INTO watch FROM pgbridge.watch AS w WHERE w.name = watch_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'watch "%" is not installed (run pgbridge install)', watch_name USING ERRCODE = 'undefined_object';
  END IF;
  target := to_regclass(format('%I.%I', watch.schema_name, watch.table_name));
  IF target IS DISTINCT FROM watch.table_oid THEN
    RAISE EXCEPTION 'watch "%": table %.% was dropped or renamed since the install (run pgbridge install)',
      watch_name, watch.schema_name, watch.table_name USING ERRCODE = 'undefined_table';
  END IF;
  keys := pgbridge.primary_key_columns(target);
  IF keys IS NULL THEN
    RAISE EXCEPTION '% has no primary key: a backfill reads rows in key order to resume where it stopped; add a primary key to backfill it', target
      USING ERRCODE = 'invalid_table_definition';
  END IF;
  key_list := (SELECT string_agg(format('t.%I', k), ', ') FROM unnest(keys) AS k);
  -- The stored key (json) back into the key columns' own types, for a row comparison the
  -- primary key's index serves.
  after_last := (SELECT string_agg(format('(pg_catalog.json_populate_record(NULL::%s, $2::json)).%I', target, k), ', ') FROM unnest(keys) AS k);
  up_to_bound := (SELECT string_agg(format('(pg_catalog.json_populate_record(NULL::%s, (SELECT key FROM bound))).%I', target, k), ', ') FROM unnest(keys) AS k);
  key_json := pgbridge.json_object_sql('t', keys);
  row_json := pgbridge.row_json_sql('t', ARRAY(SELECT jsonb_array_elements_text(watch.definition->'payload')),
                                    ARRAY(SELECT jsonb_array_elements_text(watch.definition->'exclude')));
  estimate := format('SELECT FROM %s AS t WHERE %s', target, condition);
  chunk := format($chunk$
    WITH bound AS (
      SELECT %1$s AS key FROM %2$s AS t
      WHERE ($2::json IS NULL OR (%3$s) > (%4$s)) AND %5$s
      ORDER BY %3$s OFFSET $3::int - 1 LIMIT 1
    ), chunk AS (
      SELECT %1$s AS key, %6$s AS row_data FROM %2$s AS t
      WHERE ($2::json IS NULL OR (%3$s) > (%4$s))
        AND (NOT EXISTS (SELECT FROM bound) OR (%3$s) <= (%7$s))
        AND %5$s
      ORDER BY %3$s
      FOR SHARE OF t
    ), events AS (
      INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, backfill_id, target)
      SELECT %8$L, %9$L, 'read', %10$L, chunk.key, chunk.row_data, $1::bigint, $4::text FROM chunk
      RETURNING id
    ), progress AS (
      UPDATE pgbridge.backfill
      SET last_key = (SELECT key FROM bound),
          rows_done = rows_done + (SELECT count(*) FROM events),
          state = CASE WHEN EXISTS (SELECT FROM bound) THEN 'running' ELSE 'done' END,
          updated_at = pg_catalog.now(),
          finished_at = CASE WHEN EXISTS (SELECT FROM bound) THEN NULL ELSE pg_catalog.now() END
      WHERE id = $1::bigint
      RETURNING state, last_key::text AS last_key
    )
    SELECT (SELECT count(*) FROM events)::int AS rows, (SELECT min(id) FROM events)::text AS first_event_id,
           progress.state, progress.last_key,
           -- Wakes a listener that sleeps, as the capture triggers do.
           (SELECT count(pg_catalog.pg_notify('pgbridge', '')) FROM pgbridge.listener_state WHERE waiting) AS notified
    FROM progress
  $chunk$, key_json, target, key_list, after_last, condition, row_json, up_to_bound,
     watch.schema_name, watch.table_name, watch.label);
  RETURN NEXT;
END $$;
