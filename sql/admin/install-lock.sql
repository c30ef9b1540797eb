-- Two listeners starting together must not both create the schema and triggers.
SELECT pg_advisory_xact_lock(hashtext('pgbridge.install'))
