-- `status` reads the last minute; an hour is kept for a look back by hand.
DELETE FROM pgbridge.published_count WHERE second < now() - interval '1 hour'
