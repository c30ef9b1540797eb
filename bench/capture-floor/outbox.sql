-- Probe body (bench/capture-floor/probe.sh): Today's per-row capture of bench/capture-modes/schema.sql's items (inserts and updates), as install generates it.
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
    VALUES ('public', 'items', 'insert', NULL, json_build_object('id', NEW.id), row_to_json(NEW));
  ELSIF TG_OP = 'UPDATE' THEN
    IF (ROW(OLD.id)::record *<> ROW(NEW.id)::record) THEN
      RAISE EXCEPTION 'x';
    ELSE
      INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, old_data)
      VALUES ('public', 'items', 'update', NULL, json_build_object('id', NEW.id), row_to_json(NEW), row_to_json(OLD));
    END IF;
  END IF;
  IF (SELECT waiting FROM pgbridge.listener_state) THEN
    IF NOT pg_try_advisory_xact_lock_shared(hashtext('pgbridge.waiting')) THEN
      PERFORM pg_notify('pgbridge', '');
    END IF;
  END IF;
  RETURN NULL;
END
