-- Lets a separate, least-privileged role run the listener (`pgbridge listen --no-install`):
-- it can read and delete outbox events, park them, flip the waiting flag, append what it
-- published to pgbridge.published (when retention is on) and keep its partitions, and nothing else.
-- Writers need no grant at all: the capture functions are SECURITY DEFINER.
CREATE OR REPLACE FUNCTION pgbridge.grant_listener(role_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA pgbridge TO %I', role_name);
  -- SELECT ... FOR UPDATE needs UPDATE on some column: granted on id alone, and the outbox's
  -- append-only trigger refuses every UPDATE, so the listener can lock events, never change them.
  EXECUTE format('REVOKE UPDATE ON pgbridge.outbox FROM %I', role_name);
  EXECUTE format('GRANT SELECT, DELETE ON pgbridge.outbox TO %I', role_name);
  EXECUTE format('GRANT UPDATE (id) ON pgbridge.outbox TO %I', role_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgbridge.parked TO %I', role_name);
  EXECUTE format('GRANT SELECT, UPDATE ON pgbridge.listener_state TO %I', role_name);
  EXECUTE format('GRANT SELECT ON pgbridge.watch TO %I', role_name);
  -- Entries of coalescing watches go with the events they point to; UPDATE (of one column) only
  -- for FOR UPDATE, as on the outbox.
  EXECUTE format('GRANT SELECT, DELETE ON pgbridge.coalescing TO %I', role_name);
  EXECUTE format('GRANT UPDATE (event_id) ON pgbridge.coalescing TO %I', role_name);
  EXECUTE format('GRANT SELECT ON pgbridge.schema_version, pgbridge.retention TO %I', role_name);
  EXECUTE format('GRANT INSERT ON pgbridge.published TO %I', role_name);
  EXECUTE format('GRANT EXECUTE ON FUNCTION pgbridge.maintain_published() TO %I', role_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgbridge.leadership TO %I', role_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pgbridge.published_count TO %I', role_name);
  -- "capture": "wal" (009): which slot to read, and ids from the outbox's generator for the
  -- events it reads there. Reading the slot itself takes the REPLICATION attribute (RDS and
  -- Aurora: rds_replication), which a GRANT cannot give.
  EXECUTE format('GRANT SELECT ON pgbridge.wal_capture TO %I', role_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pgbridge.wal_round TO %I', role_name);
  EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', pg_get_serial_sequence('pgbridge.outbox', 'id'), role_name);
  -- The listener has Postgres convert a WAL watch's values (and evaluate its `when`) through the
  -- table's row type, which it must be able to name: USAGE on the schema, no access to the table.
  -- Run again at the end of every install (refresh-listener-grants), so later watches get it too.
  PERFORM pgbridge.grant_watched_schema_usage(role_name);
END $$;

CREATE OR REPLACE FUNCTION pgbridge.grant_watched_schema_usage(role_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  watched_schema text;
BEGIN
  FOR watched_schema IN
    SELECT DISTINCT n.nspname FROM pgbridge.watch AS w JOIN pg_class AS c ON c.oid = w.table_oid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE w.definition->>'capture' = 'wal' AND NOT has_schema_privilege(role_name, n.oid, 'USAGE')
  LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', watched_schema, role_name);
  END LOOP;
END $$;

-- Undoes grant_listener. Revoking a table privilege revokes the column privileges too.
CREATE OR REPLACE FUNCTION pgbridge.revoke_listener(role_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- Every table of the schema, not a list: a table a later version grants on is revoked too.
  EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA pgbridge FROM %I', role_name);
  EXECUTE format('REVOKE ALL ON FUNCTION pgbridge.maintain_published() FROM %I', role_name);
  EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA pgbridge FROM %I', role_name);
  EXECUTE format('REVOKE USAGE ON SCHEMA pgbridge FROM %I', role_name);
  -- USAGE on the schemas of WAL-watched tables (grant_watched_schema_usage), also of watches
  -- removed since: every schema whose privileges name the role, so that the role can be dropped.
  PERFORM pgbridge.revoke_schema_usage(role_name);
END $$;

CREATE OR REPLACE FUNCTION pgbridge.revoke_schema_usage(role_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  granted_schema text;
BEGIN
  FOR granted_schema IN
    SELECT DISTINCT n.nspname FROM pg_namespace AS n CROSS JOIN LATERAL aclexplode(n.nspacl) AS a
    WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = role_name) AND a.privilege_type = 'USAGE'
      AND n.nspname <> 'pgbridge'
  LOOP
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM %I', granted_schema, role_name);
  END LOOP;
END $$;
