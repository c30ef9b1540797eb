-- What the listener's metrics report every interval. The oldest event by id is (nearly) the
-- oldest by time, and the primary-key index finds it without scanning the queue. The backlog is
-- counted up to a million rows, so a huge outbox costs a bounded scan, not a full one. The
-- database's clock comes along: event times (`at`) are in it, and the listener's may differ.
SELECT
  coalesce(extract(epoch FROM now() - (SELECT at FROM pgbridge.outbox ORDER BY id LIMIT 1)), 0)::float8 AS oldest_age_seconds,
  (SELECT count(*) FROM (SELECT 1 FROM pgbridge.outbox LIMIT 1000000) AS waiting)::int AS backlog,
  (SELECT count(*) FROM pgbridge.parked)::int AS parked,
  (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS database_now_ms
