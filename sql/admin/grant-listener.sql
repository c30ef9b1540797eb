SELECT pgbridge.grant_listener($1)
