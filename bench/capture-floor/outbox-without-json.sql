-- Probe body (bench/capture-floor/probe.sh): The outbox insert without building the key and row JSON, and without the waiting-flag read.
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data)
    VALUES ('public', 'items', 'insert', NULL, NULL, NULL);
  ELSE
      INSERT INTO pgbridge.outbox (schema_name, table_name, action, label, key, row_data, old_data)
      VALUES ('public', 'items', 'update', NULL, NULL,NULL,NULL);
  END IF;
  RETURN NULL;
END
