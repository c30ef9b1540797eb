-- Stops writers from adding events until uninstall commits or rolls back. Watched tables first,
-- in a fixed order, then the outbox: writers take them in that order too (their table, then the
-- outbox from the trigger), so uninstall cannot deadlock with them. Gives up after 10 s rather
-- than queue every writer behind it.
SET LOCAL lock_timeout = '10s';
DO $lock$
DECLARE
  watched regclass;
BEGIN
  IF to_regclass('pgbridge.outbox') IS NULL THEN
    RETURN;
  END IF;
  FOR watched IN
    SELECT c.oid::regclass FROM pgbridge.watch AS w JOIN pg_catalog.pg_class AS c ON c.oid = w.table_oid
    GROUP BY c.oid ORDER BY c.oid
  LOOP
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', watched);
  END LOOP;
  LOCK TABLE pgbridge.outbox, pgbridge.parked IN ACCESS EXCLUSIVE MODE;
END
$lock$
