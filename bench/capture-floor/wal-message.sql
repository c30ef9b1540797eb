-- Probe body (bench/capture-floor/probe.sh): No outbox: the event goes into the WAL only, as a transactional logical-decoding message (a listener would read it from a replication slot; not built).
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_logical_emit_message(true, 'pgbridge', json_build_object('s','public','t','items','a','insert','k',json_build_object('id', NEW.id),'r',row_to_json(NEW))::text);
  ELSE
    PERFORM pg_logical_emit_message(true, 'pgbridge', json_build_object('s','public','t','items','a','update','k',json_build_object('id', NEW.id),'r',row_to_json(NEW),'o',row_to_json(OLD))::text);
  END IF;
  RETURN NULL;
END
