-- Which numbered migrations (`sql/migrations/NNN-*.sql`) this database has, so that an install
-- applies only the missing ones, in order, and a listener can tell whether it may run against
-- this schema. Version 1 is the baseline, `001-schema.sql` as it was before versions were
-- recorded: every install re-applies it idempotently, so it is recorded as present.
-- `breaking` marks a migration older listeners cannot work with: they refuse to start on it.
CREATE TABLE IF NOT EXISTS pgbridge.schema_version (
  version    integer PRIMARY KEY,
  name       text        NOT NULL,
  breaking   boolean     NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
INSERT INTO pgbridge.schema_version (version, name, breaking) VALUES (1, 'baseline', false) ON CONFLICT DO NOTHING;

-- Runs one migration unless it is recorded, and records it, in the caller's transaction (the
-- install's): a failing migration leaves neither its changes nor its version behind. The text
-- is the migration file verbatim, so `pgbridge sql` and `pgbridge install` apply the same thing.
CREATE OR REPLACE FUNCTION pgbridge.apply_migration(migration_version integer, migration_name text, migration_breaking boolean, migration_sql text)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pgbridge.schema_version WHERE version = migration_version) THEN
    RETURN false;
  END IF;
  EXECUTE migration_sql;
  INSERT INTO pgbridge.schema_version (version, name, breaking) VALUES (migration_version, migration_name, migration_breaking);
  RETURN true;
END $$;
