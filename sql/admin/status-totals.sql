-- The whole outbox, for `pgbridge status`: events of removed watches count too. The oldest by
-- id is (nearly) the oldest by time, found through the primary key without a scan.
SELECT (SELECT count(*) FROM pgbridge.outbox)::int AS waiting,
       extract(epoch FROM now() - (SELECT at FROM pgbridge.outbox ORDER BY id LIMIT 1))::float8 AS oldest_age_seconds,
       (SELECT coalesce(sum(events), 0) FROM pgbridge.published_count WHERE second > now() - interval '1 minute')::int AS published_last_minute,
       (SELECT count(*) FROM pgbridge.parked)::int AS parked
