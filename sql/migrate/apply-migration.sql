-- $1 version, $2 name, $3 breaking, $4 the migration file's text. In the install transaction,
-- after the numbered schema files; applies it unless recorded. See sql/004-schema-version.sql.
SELECT pgbridge.apply_migration($1::integer, $2::text, $3::boolean, $4::text) AS applied
