-- A schema installed before versions were recorded has no pgbridge.schema_version.
SELECT to_regclass('pgbridge.schema_version') IS NOT NULL AS recorded
