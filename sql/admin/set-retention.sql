-- $1: days to keep published events, or NULL to keep none (the config's `retention`). Runs in
-- the install transaction; the upkeep right after creates or drops partitions to match.
UPDATE pgbridge.retention SET days = $1::integer
