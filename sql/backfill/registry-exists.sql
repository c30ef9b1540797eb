-- Is the backfill registry there (pgbridge installed by a release with backfills)?
SELECT to_regclass('pgbridge.backfill') IS NOT NULL AS present
