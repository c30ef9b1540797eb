-- Whether the installed schema knows "capture": "wal" (sql/009-wal-capture.sql).
SELECT pg_catalog.to_regprocedure('pgbridge.drop_wal_publication()') IS NOT NULL AS present
