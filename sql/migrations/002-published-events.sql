-- breaking: false
-- Retention of published events, for `pgbridge replay`. Older listeners keep working on this
-- schema: the outbox is unchanged, they just do not retain what they publish.

-- How many days published events are kept (`"retention": "7d"` in pgbridge.config.json);
-- NULL keeps nothing. Written by every install, read by the drain and the partition upkeep.
CREATE TABLE pgbridge.retention (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  days      integer CHECK (days > 0)
);
INSERT INTO pgbridge.retention DEFAULT VALUES;

-- Published events, moved here by the drain's delete in the same statement. Partitioned by
-- the day of publication: expiry drops a whole day's partition instead of deleting rows, so
-- keeping events costs the drain one append and no vacuum debt. The outbox's columns, so a
-- replayed event is built exactly as it was the first time. The primary key is the only index:
-- replay walks ids in order (ids follow `at` closely enough that a time bound costs one scan to
-- its start), and every further index would be one more write per published event.
CREATE TABLE pgbridge.published (
  LIKE pgbridge.outbox,
  published_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (id, published_at)
) PARTITION BY RANGE (published_at);

-- Events are facts here too: nobody changes a published event, expiry drops whole partitions.
CREATE TRIGGER published_is_append_only BEFORE UPDATE OR DELETE ON pgbridge.published
  FOR EACH ROW EXECUTE FUNCTION pgbridge.refuse_published_change();
