SELECT id::text, schema_name, table_name, action, label, key::text, reason, parked_at
FROM pgbridge.parked ORDER BY id LIMIT $1
