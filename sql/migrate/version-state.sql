-- What the listener checks at start (after sql/migrate/has-version-table.sql found the table):
-- the newest recorded migration, and the newest one older listeners cannot work with.
SELECT
  (SELECT max(version) FROM pgbridge.schema_version) AS installed,
  coalesce((SELECT max(version) FROM pgbridge.schema_version WHERE breaking), 1) AS breaking
