-- Retained events stay as published until their day's partition is dropped.
CREATE OR REPLACE FUNCTION pgbridge.refuse_published_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'retained event % cannot be changed or deleted: it expires with its day (retention)', OLD.id USING ERRCODE = 'insufficient_privilege';
END $$;

-- Partitions of pgbridge.published: today's and the next two days' exist (created ahead, so the
-- drain never meets a day without one), days older than the retention are dropped. With
-- retention off, every partition is dropped: nothing is kept. Run by the leader listener, which
-- owns no table: SECURITY DEFINER lets it do exactly this and nothing else. Days are UTC days.
CREATE OR REPLACE FUNCTION pgbridge.maintain_published()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Creating or dropping a partition locks the parent briefly; never queue the drain behind a
-- long reader (a replay), retry on the next upkeep instead.
SET lock_timeout = '2s' AS $$
DECLARE
  kept_days integer := (SELECT days FROM pgbridge.retention);
  today date := (pg_catalog.now() AT TIME ZONE 'UTC')::date;
  day date;
  expired record;
BEGIN
  FOR expired IN
    SELECT c.relname
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'pgbridge.published'::regclass
      AND (kept_days IS NULL OR to_date(right(c.relname, 8), 'YYYYMMDD') < today - kept_days)
  LOOP
    EXECUTE format('DROP TABLE pgbridge.%I', expired.relname);
  END LOOP;
  IF kept_days IS NULL THEN
    RETURN;
  END IF;
  FOR day IN SELECT today + offset_days FROM generate_series(0, 2) AS offset_days LOOP
    IF to_regclass(format('pgbridge.%I', 'published_' || to_char(day, 'YYYYMMDD'))) IS NULL THEN
      EXECUTE format('CREATE TABLE pgbridge.%I PARTITION OF pgbridge.published FOR VALUES FROM (%L) TO (%L)',
                     'published_' || to_char(day, 'YYYYMMDD'),
                     day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
    END IF;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION pgbridge.maintain_published() FROM PUBLIC;
