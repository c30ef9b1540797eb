-- An install that created the publication and the slot first and then failed: the publication
-- goes again if no table is in it.
DO $drop$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication_rel AS r JOIN pg_catalog.pg_publication AS p ON p.oid = r.prpubid
                 WHERE p.pubname = 'pgbridge_capture') THEN
    DROP PUBLICATION IF EXISTS pgbridge_capture;
  END IF;
END
$drop$
