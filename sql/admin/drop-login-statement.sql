-- $1: role name. DROP ROLE takes no bind parameters: format's %I quotes the name, and the
-- installer runs the text it gets back after revoking the role's pgbridge grants.
SELECT pg_catalog.format('DROP ROLE %I', $1::text) AS statement
