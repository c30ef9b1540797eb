-- Stops writers from adding events (their triggers insert into the outbox) until uninstall
-- commits or rolls back.
DO $lock$
BEGIN
  IF to_regclass('pgbridge.outbox') IS NOT NULL THEN
    LOCK TABLE pgbridge.outbox, pgbridge.parked IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$lock$
