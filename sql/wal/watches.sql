-- The installed `"capture": "wal"` watches, with their table's primary key, for the listener to
-- apply to the changes it reads from the slot.
SELECT w.name, w.table_oid::bigint AS table_oid, w.schema_name, w.table_name, w.label, w.definition,
       pgbridge.primary_key_columns(w.table_oid::regclass) AS key_columns
FROM pgbridge.watch AS w
WHERE w.definition->>'capture' = 'wal'
-- A fixed order: the events of one change come in watch order, and a round read again must give
-- them the same ids.
ORDER BY w.name
