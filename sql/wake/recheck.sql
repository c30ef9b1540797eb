-- Is there work the listener would otherwise sleep through? $1: the snapshot taken when it
-- set the flag; $2: ids waiting out a backoff (not work for now).
SELECT
  EXISTS (SELECT 1 FROM pgbridge.outbox WHERE id <> ALL ($2::bigint[])) AS has_events,
  EXISTS (
    SELECT 1 FROM pg_snapshot_xip($1::pg_snapshot) AS x
    WHERE pg_xact_status(x) = 'in progress'
  ) AS writers_in_flight
