-- Session-level: held until this connection ends, so a dead leader's lock is freed by Postgres.
SELECT pg_try_advisory_lock(hashtext('pgbridge.leader')) AS acquired
