-- Runs at the end of every install: roles granted the listener's rights by an earlier version
-- (recognisable by DELETE on the outbox, which only grant_listener gives) get what this
-- version's listener needs, e.g. on tables a migration just created. Without it an upgraded
-- least-privileged listener would fail every drain round until someone re-ran grant-listener.
SELECT pgbridge.grant_listener(r.rolname)
FROM pg_class AS c
CROSS JOIN LATERAL aclexplode(c.relacl) AS a
JOIN pg_roles AS r ON r.oid = a.grantee
WHERE c.oid = 'pgbridge.outbox'::regclass AND a.privilege_type = 'DELETE' AND a.grantee <> c.relowner
GROUP BY r.rolname
