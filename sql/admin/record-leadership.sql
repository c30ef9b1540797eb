-- Run by a listener that has just taken the leader lock. $1: the listener process ("pid@host").
INSERT INTO pgbridge.leadership (backend_pid, listener, since) VALUES (pg_backend_pid(), $1, now())
ON CONFLICT (singleton) DO UPDATE SET backend_pid = excluded.backend_pid, listener = excluded.listener, since = excluded.since
