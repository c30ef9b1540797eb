-- The capture pgbridge installed on bench.items, as Postgres holds it: each trigger's
-- definition, and its function's definition and body. The profile derives its steps from these,
-- so it follows whatever capture the code under test installs (row or statement triggers).
SELECT t.tgname AS trigger_name,
       pg_get_triggerdef(t.oid) AS trigger_sql,
       p.oid::regprocedure::text AS function_signature,
       pg_get_functiondef(p.oid) AS function_sql,
       p.prosrc AS function_body
FROM pg_trigger AS t
JOIN pg_proc AS p ON p.oid = t.tgfoid
JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE t.tgrelid = 'bench.items'::regclass AND NOT t.tgisinternal AND n.nspname = 'pgbridge'
ORDER BY t.tgname
