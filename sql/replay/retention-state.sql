-- What `pgbridge replay` reports before it starts: whether events are kept at all, and the
-- oldest one still kept (older ones went with their day's partition).
SELECT
  r.days,
  (SELECT min(p.id)::text FROM pgbridge.published AS p) AS oldest_id,
  (SELECT to_json(min(p.at))::text FROM pgbridge.published AS p) AS oldest_at
FROM pgbridge.retention AS r
