-- Is there work the listener would otherwise sleep through? $1: ids waiting out a backoff
-- (not work for now).
SELECT EXISTS (SELECT 1 FROM pgbridge.outbox WHERE id <> ALL ($1::bigint[])) AS has_events
