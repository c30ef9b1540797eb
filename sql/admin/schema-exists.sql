SELECT to_regclass('pgbridge.outbox') IS NOT NULL AS installed
