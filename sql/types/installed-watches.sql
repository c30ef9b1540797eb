-- Which of the given watches are installed exactly as given, so that `pgbridge types` can warn
-- when the types it writes would not match what the triggers send.
-- $1: the validated watches as JSON (the form `install` receives). The registry may add to a
-- definition the generation of the capture code that installed it, which the config does not hold.
SELECT w.value->>'name' AS name,
       EXISTS (SELECT 1 FROM pgbridge.watch AS i WHERE i.definition - 'generation' = w.value) AS installed
FROM jsonb_array_elements($1::jsonb) AS w
