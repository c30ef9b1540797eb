-- What the backlog alarm watches. The oldest event by id is (nearly) the oldest by time, and
-- the primary-key index finds it without scanning the queue.
SELECT
  coalesce(extract(epoch FROM now() - (SELECT at FROM pgbridge.outbox ORDER BY id LIMIT 1)), 0)::float8 AS oldest_age_seconds,
  (SELECT count(*) FROM pgbridge.parked)::int AS parked
