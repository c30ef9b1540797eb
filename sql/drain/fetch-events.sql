-- The next events to publish, oldest first, locked until the drain transaction ends.
-- $1: how many; $2: ids to leave alone for now (waiting out a retry backoff).
-- The message body is built here, as text, so that the listener forwards Postgres' own output
-- and never re-encodes values (a bigint above 2^53 or a 30-digit numeric stays exact).
-- The leader lock guarantees one drainer; SKIP LOCKED is the second line of defence: should
-- two ever overlap (a leader whose session Postgres has not yet ended while a standby takes
-- over), neither waits on the other's rows nor sends them twice. Per-row FIFO order relies on
-- the single drainer.
-- `key_change` (the two events of a primary-key change) and `coalesced` (updates merged by a
-- watch's `coalesce`) are spliced into the body's text only where they exist, so every other
-- body stays as it is. An update a coalescing watch may still merge into (pointed to from
-- pgbridge.coalescing, window not over) waits; so do none of the row's later events, since any
-- later event of the row removes the pointer. wake/has-events leaves out the same events.
SELECT
  o.id::text AS id,
  o.schema_name,
  o.table_name,
  o.action,
  o.label,
  o.backfill_id::text AS backfill,
  o.target,
  o.key::text AS key,
  (SELECT string_agg(k.value, ',') FROM json_each_text(o.key) AS k) AS key_values,
  o.txid::text AS txid,
  to_json(o.at)::text AS at,
  o.key_change::text AS key_change,
  o.coalesced,
  CASE WHEN o.key_change IS NULL AND o.coalesced IS NULL THEN b.body
       ELSE left(b.body, -1)
            || CASE WHEN o.key_change IS NULL THEN '' ELSE ', "key_change" : ' || o.key_change::text END
            || CASE WHEN o.coalesced IS NULL THEN '' ELSE ', "coalesced" : ' || o.coalesced END
            || '}' END AS body
FROM pgbridge.outbox AS o
CROSS JOIN LATERAL (SELECT json_build_object(
    'id', o.id::text,
    'schema', o.schema_name,
    'table', o.table_name,
    'action', o.action,
    'label', o.label,
    'key', o.key,
    'row', o.row_data,
    'old', o.old_data,
    'changed', CASE WHEN o.action = 'update' THEN coalesce(o.changed_columns, (
      SELECT coalesce(json_agg(n.key), '[]')
      FROM json_each_text(o.row_data) AS n
      LEFT JOIN json_each_text(o.old_data) AS p ON p.key = n.key
      WHERE p.key IS NULL OR n.value IS DISTINCT FROM p.value
    )) END,
    'txid', o.txid::text,
    'at', o.at
  )::text AS body) AS b
WHERE o.id <> ALL ($2::bigint[])
  AND (o.coalesce_until IS NULL OR o.coalesce_until <= now()
       OR NOT EXISTS (SELECT FROM pgbridge.coalescing AS c WHERE c.coalesce_key = o.coalesce_key AND c.event_id = o.id))
ORDER BY o.id
LIMIT $1
FOR UPDATE OF o SKIP LOCKED
