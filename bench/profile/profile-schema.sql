-- The capture profile's own copy of the bench table (bench/phases/capture-profile.ts): the step
-- triggers are created on it, so that bench.items keeps exactly what pgbridge installed.
CREATE SCHEMA IF NOT EXISTS bench_profile;
DROP TABLE IF EXISTS bench_profile.items;
CREATE TABLE bench_profile.items (LIKE bench.items INCLUDING ALL);
-- Each step's table changes are its own; autovacuum here would add WAL and time to some steps.
ALTER TABLE bench_profile.items SET (autovacuum_enabled = off);
