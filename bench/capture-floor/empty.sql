-- Probe body (bench/capture-floor/probe.sh): The call alone: what any row trigger costs a writer.
BEGIN
  RETURN NULL;
END
