-- $1: role name. The role's attributes, or no row when it does not exist: the installer creates
-- the listener's login role only when missing, and refuses to take over a role that can do more
-- than log in (or the role it is connected as), since it would reset that role's password.
SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls AS privileged,
       r.rolname = current_user AS is_current_user
FROM pg_catalog.pg_roles r
WHERE r.rolname = $1
