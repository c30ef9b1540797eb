-- $1: role name. Takes back everything grant_listener gave, before the installer drops the role.
SELECT pgbridge.revoke_listener($1)
