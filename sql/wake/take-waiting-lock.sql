-- Session-level, taken by the leader before it first sets its waiting flag and kept until its
-- session ends: the flag counts only while some session holds this lock, so a listener killed
-- in its sleep stops costing writers a NOTIFY the moment Postgres ends its session.
-- Not waited for: a writer that saw a stale flag holds the shared lock until it commits; the
-- listener then sleeps without the flag, on its poll timer, and tries again next time.
SELECT pg_try_advisory_lock(hashtext('pgbridge.waiting')) AS acquired
