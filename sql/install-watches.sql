-- $1: the validated watches as JSON. Runs after the schema files, in the same transaction.
SELECT pgbridge.install_watches($1::jsonb)
