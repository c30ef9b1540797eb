-- $1: role name. The role's standing, or no row when it does not exist: the installer creates
-- the listener's login role only when missing, and refuses to take over a role that can do more
-- than log in (attributes, or membership in another role such as pg_read_all_data) or the role
-- it is connected as, since it would reset that role's password and hand it to the listener.
SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
         OR EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid) AS privileged,
       r.rolname = current_user AS is_current_user
FROM pg_catalog.pg_roles r
WHERE r.rolname = $1
