SELECT to_regclass('pgbridge.outbox') IS NULL AS missing
