-- Whether the schema has the tables this listener writes besides the outbox. A schema installed
-- by an earlier version lacks them (a listener upgraded before the install, run with
-- --no-install), and every drain round would fail on them.
SELECT to_regclass('pgbridge.published_count') IS NOT NULL AND to_regclass('pgbridge.leadership') IS NOT NULL AS present
