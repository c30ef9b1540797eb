-- Lets a separate, least-privileged role run the listener (`pgbridge listen --no-install`):
-- it can read and delete outbox events, park them, flip the waiting flag, and nothing else.
-- Writers need no grant at all: the capture functions are SECURITY DEFINER.
CREATE OR REPLACE FUNCTION pgbridge.grant_listener(role_name text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA pgbridge TO %I', role_name);
  -- SELECT ... FOR UPDATE needs UPDATE: the drain locks the rows it is publishing.
  EXECUTE format('GRANT SELECT, UPDATE, DELETE ON pgbridge.outbox TO %I', role_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgbridge.parked TO %I', role_name);
  EXECUTE format('GRANT SELECT, UPDATE ON pgbridge.listener_state TO %I', role_name);
  EXECUTE format('GRANT SELECT ON pgbridge.watch TO %I', role_name);
END $$;
