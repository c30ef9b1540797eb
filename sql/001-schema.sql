-- pgbridge capture schema. Every statement is idempotent: `pgbridge install` re-applies this
-- file on each start, and migration tools may apply it more than once.

CREATE SCHEMA IF NOT EXISTS pgbridge;

-- One row per captured change, written by the watch triggers in the writer's own transaction,
-- deleted by the listener once the sink has accepted the message. Row images are stored as
-- `json` rather than `jsonb`: `json` keeps Postgres' text output verbatim (no re-parse in the
-- writer's transaction, no numeric normalisation) and the listener forwards it unchanged.
-- Event ids start at the creation time in microseconds, so a schema dropped and installed
-- again never reuses an id that consumers or a FIFO topic's deduplication have already seen
-- (ids stay below 2^53, exact as JSON numbers, for a few centuries).
DO $outbox$
BEGIN
  IF to_regclass('pgbridge.outbox') IS NULL THEN
    EXECUTE format($create$
      CREATE TABLE pgbridge.outbox (
        id          bigint GENERATED ALWAYS AS IDENTITY (START WITH %s) PRIMARY KEY,
        schema_name text        NOT NULL,
        table_name  text        NOT NULL,
        action      text        NOT NULL,
        label       text,
        key         json,
        row_data    json,
        old_data    json,
        txid        bigint      NOT NULL DEFAULT pg_catalog.txid_current(),
        at          timestamptz NOT NULL DEFAULT pg_catalog.now()
      ) WITH (
        -- A queue table churns: vacuum it early so dead rows do not slow the drain's index scan.
        autovacuum_vacuum_scale_factor = 0.01,
        autovacuum_vacuum_insert_scale_factor = 0.01
      )$create$, (extract(epoch FROM pg_catalog.clock_timestamp()) * 1000000)::bigint);
  END IF;
END
$outbox$;

-- Events are facts: nobody (not even the listener, whose role needs an UPDATE grant only to
-- lock rows with FOR UPDATE) may change one once written.
CREATE OR REPLACE FUNCTION pgbridge.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'pgbridge.outbox events cannot be changed (event %)', OLD.id USING ERRCODE = 'insufficient_privilege';
END $$;
-- Created only when missing: CREATE TRIGGER locks the outbox against writers, and an install that
-- held that lock while it waits for a watched table's lock would deadlock with a writer holding
-- the table and waiting for the outbox.
DO $append_only$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = 'pgbridge.outbox'::regclass AND tgname = 'outbox_is_append_only') THEN
    CREATE TRIGGER outbox_is_append_only BEFORE UPDATE ON pgbridge.outbox
      FOR EACH ROW EXECUTE FUNCTION pgbridge.refuse_event_change();
  END IF;
END
$append_only$;

-- Events the sink rejected for their content (they would be rejected on every retry). Kept,
-- with the reason, until `pgbridge parked resend` puts them back into the outbox. The outbox's
-- own columns (and primary key, not its id generator), so an event moves between them unchanged.
CREATE TABLE IF NOT EXISTS pgbridge.parked (
  LIKE pgbridge.outbox INCLUDING INDEXES,
  reason      text        NOT NULL,
  parked_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Columns added after the first release, added in place to an existing outbox and parked table
-- with events in flight: nullable and without a default, so only the catalog changes. Looked up
-- first, because ALTER TABLE would lock the outbox against every writer on each install.
--   key_change: on the delete + insert that stand for a primary-key change, {"old": key, "new": key}.
--   coalesced, changed_columns: on an update merged from several (a watch's `coalesce`), how
--     many, and the union of the columns they changed.
--   coalesce_key, coalesce_until (outbox only): the watch and row of a coalescing watch's
--     event, and until when later updates of the row may still be merged into it.
--   backfill_id, target: which backfill wrote a `read` event, and the one consumer it is meant
--     for (NULL: every consumer that accepts `read`); on parked too, so a resent event keeps it.
-- Writers take their table's lock, then the outbox's (in the trigger): the upgrade takes the
-- watched tables first, in a fixed order, so that it queues behind writers instead of
-- deadlocking with them (the watches are re-created right after, which needs these locks anyway).
DO $upgrade$
DECLARE
  added record;
  watched regclass;
  tables_locked boolean := false;
BEGIN
  FOR added IN
    SELECT * FROM (VALUES ('pgbridge.outbox', 'key_change', 'json'), ('pgbridge.parked', 'key_change', 'json'),
                          ('pgbridge.outbox', 'coalesced', 'integer'), ('pgbridge.parked', 'coalesced', 'integer'),
                          ('pgbridge.outbox', 'changed_columns', 'json'), ('pgbridge.parked', 'changed_columns', 'json'),
                          ('pgbridge.outbox', 'coalesce_key', 'text'), ('pgbridge.outbox', 'coalesce_until', 'timestamptz'),
                          ('pgbridge.outbox', 'backfill_id', 'bigint'), ('pgbridge.parked', 'backfill_id', 'bigint'),
                          ('pgbridge.outbox', 'target', 'text'), ('pgbridge.parked', 'target', 'text'))
                  AS c(table_name, column_name, column_type)
    WHERE NOT EXISTS (SELECT FROM pg_attribute
                      WHERE attrelid = c.table_name::regclass AND attname = c.column_name AND NOT attisdropped)
  LOOP
    IF NOT tables_locked AND to_regclass('pgbridge.watch') IS NOT NULL THEN
      FOR watched IN
        SELECT c.oid::regclass FROM pgbridge.watch AS w JOIN pg_catalog.pg_class AS c ON c.oid = w.table_oid
        GROUP BY c.oid ORDER BY c.oid
      LOOP
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', watched);
      END LOOP;
      tables_locked := true;
    END IF;
    EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', added.table_name, added.column_name, added.column_type);
  END LOOP;
END
$upgrade$;

-- For coalescing watches: per row (`coalesce_key`), the outbox event that later updates may
-- still be merged into. A separate table rather than an index on the outbox, so that watches
-- without `coalesce` pay nothing for it. The listener removes an entry with the event it points
-- to, so a listener role granted on an install from before this table gets the same rights on it
-- (what `pgbridge grant-listener` grants today).
DO $coalescing$
DECLARE
  listener_role text;
BEGIN
  IF to_regclass('pgbridge.coalescing') IS NULL THEN
    CREATE TABLE pgbridge.coalescing (
      coalesce_key text PRIMARY KEY,
      event_id     bigint NOT NULL
    );
    FOR listener_role IN
      SELECT DISTINCT a.grantee::regrole::text
      FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
      WHERE c.oid = 'pgbridge.outbox'::regclass AND a.privilege_type = 'DELETE' AND a.grantee <> c.relowner AND a.grantee <> 0
    LOOP
      EXECUTE format('GRANT SELECT, DELETE ON pgbridge.coalescing TO %s', listener_role);
      EXECUTE format('GRANT UPDATE (event_id) ON pgbridge.coalescing TO %s', listener_role);
    END LOOP;
  END IF;
END
$coalescing$;

-- The listener sets `waiting` just before it blocks on LISTEN and clears it when it wakes.
-- Triggers only NOTIFY while it is set: a pending NOTIFY makes the commit take a database-wide
-- lock, so a busy writer must not pay for wake-ups nobody is waiting for.
CREATE TABLE IF NOT EXISTS pgbridge.listener_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  waiting   boolean NOT NULL DEFAULT false
);
INSERT INTO pgbridge.listener_state DEFAULT VALUES ON CONFLICT DO NOTHING;

-- What `install` created, so that a re-install can drop the triggers of removed watches and
-- leave unchanged ones alone (re-creating a trigger locks the table against writers).
CREATE TABLE IF NOT EXISTS pgbridge.watch (
  name          text PRIMARY KEY,
  table_oid     oid  NOT NULL,
  schema_name   text NOT NULL,
  table_name    text NOT NULL,
  label         text,
  function_name text NOT NULL,
  definition    jsonb NOT NULL,
  installed_at  timestamptz NOT NULL DEFAULT now()
);
