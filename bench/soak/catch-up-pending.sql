-- Outage catch-up: whether any event written up to the restart ($1, the newest id then) is still
-- waiting. The primary key index answers it from its low end, where the drain deletes.
SELECT EXISTS (SELECT FROM pgbridge.outbox WHERE id <= $1::bigint) AS pending
