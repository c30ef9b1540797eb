-- Which of the given watches are installed exactly as given, so that `pgbridge types` can warn
-- when the types it writes would not match what the triggers send.
-- $1: the validated watches as JSON (the same form `install` records as each watch's definition).
SELECT w.value->>'name' AS name, EXISTS (SELECT 1 FROM pgbridge.watch AS i WHERE i.definition = w.value) AS installed
FROM jsonb_array_elements($1::jsonb) AS w
