-- The naive design as the well-known demos write it: every row change becomes one NOTIFY whose
-- payload is the whole row. Nothing is stored: a change made while no listener is connected is
-- gone, and every notifying commit takes the database-wide notify lock.
CREATE OR REPLACE FUNCTION bench.naive_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('bench_naive', row_to_json(NEW)::text);
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS naive_notify ON bench.items;
CREATE TRIGGER naive_notify AFTER INSERT OR UPDATE ON bench.items
FOR EACH ROW EXECUTE FUNCTION bench.naive_notify();
