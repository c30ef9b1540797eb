-- $1: role name, $2: SCRAM-SHA-256 verifier of its password, $3: whether the role exists.
-- CREATE/ALTER ROLE take no bind parameters, so the server itself builds the statement: format's
-- %I quotes the name as an identifier and %L the verifier as a literal (quote_literal, which
-- doubles quotes and backslashes), and the installer runs the text it gets back.
SELECT pg_catalog.format(
  CASE WHEN $3::boolean THEN 'ALTER ROLE %I WITH LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I WITH LOGIN PASSWORD %L' END,
  $1::text, $2::text) AS statement
