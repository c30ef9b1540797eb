-- What the listener records about its own work, for `pgbridge status`. Idempotent like the
-- other schema files.

-- The current leader's account of itself, written once when it takes the leader lock. The lock
-- (pg_locks) says who leads; this row adds since when, and is believed only while its
-- backend_pid is the lock holder's.
CREATE TABLE IF NOT EXISTS pgbridge.leadership (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  backend_pid int         NOT NULL,
  listener    text        NOT NULL,
  since       timestamptz NOT NULL
);

-- Events published, per second, drain connection and watched table: added by the delete of each drain
-- round (drain/delete-events.sql, not per event), so a rolled-back round counts nothing.
-- Keyed by the connection so that two drain connections never wait for each other's row lock.
-- The leader deletes rows older than an hour.
CREATE TABLE IF NOT EXISTS pgbridge.published_count (
  second      timestamptz NOT NULL,
  backend_pid int         NOT NULL,
  schema_name text        NOT NULL,
  table_name  text        NOT NULL,
  label       text        NOT NULL DEFAULT '',
  events      bigint      NOT NULL,
  PRIMARY KEY (second, backend_pid, schema_name, table_name, label)
);

-- The backend holding the session-level advisory lock `key_name` (hashtext of it, as
-- admin/try-leader-lock.sql and wake/take-waiting-lock.sql take it) exclusively in this
-- database, or null. A bigint advisory key shows in pg_locks split into classid (high 32 bits)
-- and objid (low 32 bits), with objsubid 1.
CREATE OR REPLACE FUNCTION pgbridge.advisory_lock_holder(key_name text)
RETURNS int LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT pid FROM pg_locks
  WHERE locktype = 'advisory' AND granted AND mode = 'ExclusiveLock' AND objsubid = 1
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND ((classid::bigint << 32) | objid::bigint) = hashtext(key_name)
  LIMIT 1
$$;

-- Listener roles granted before these tables existed (`pgbridge grant-listener`, the CDK
-- installer) get their rights on them here: without them an upgraded listener could not drain.
-- A granted role is one holding UPDATE on the waiting flag other than its owner.
DO $grant_new_tables$
DECLARE
  role_name text;
BEGIN
  FOR role_name IN
    SELECT DISTINCT pg_get_userbyid(acl.grantee)
    FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS acl
    WHERE c.oid = 'pgbridge.listener_state'::regclass AND acl.privilege_type = 'UPDATE'
      AND acl.grantee <> c.relowner AND acl.grantee <> 0
  LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgbridge.leadership TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pgbridge.published_count TO %I', role_name);
  END LOOP;
END
$grant_new_tables$;
