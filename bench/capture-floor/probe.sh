#!/bin/bash
# A manual probe, not part of `npm run bench`: how much of the writers' capture tax each part of a
# row trigger costs, and what a trigger that writes no outbox row (a WAL message) would cost.
# Swaps the body of the installed capture function of items (bench/capture-modes/schema.sql,
# watched with the defaults) for each variant (the installed body, it without the flag read, the
# files of this folder), then runs pgbench's single-row insert
# at 8 writers and counts WAL bytes per transaction (20,000 one-row transactions).
#   PROBE_URL      a database with items created and watched (`pgbridge install`) — required
#   PROBE_NONE_URL a database with items and no watch — required
#   PGBENCH        default /usr/lib/postgresql/15/bin/pgbench; PROBE_SECONDS (6), PROBE_ROUNDS (3)
#   PGOPTIONS      e.g. "-c synchronous_commit=off" to see CPU rather than the WAL flush
# The wal-message body needs wal_level = logical.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${PROBE_URL:?set PROBE_URL to a database with items watched}" "${PROBE_NONE_URL:?set PROBE_NONE_URL to one without}"
pgbench=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
seconds=${PROBE_SECONDS:-6}; rounds=${PROBE_ROUNDS:-3}
function_name=$(psql "$PROBE_URL" -qAtX -c "SELECT proname FROM pg_proc WHERE proname LIKE 'capture\_%' LIMIT 1")
[ -n "$function_name" ] || { echo "no capture function in $PROBE_URL: run pgbridge install with a watch on items first" >&2; exit 2; }
original=$(psql "$PROBE_URL" -qAtX -c "SELECT pg_get_functiondef('pgbridge.$function_name'::regproc)")
# `outbox` is the body install generated; `outbox-without-flag` the same without its last block,
# the waiting-flag read (the only block indented by six spaces that starts with IF (SELECT).
installed_body=$(psql "$PROBE_URL" -qAtX -c "SELECT prosrc FROM pg_proc WHERE oid = 'pgbridge.$function_name'::regproc")
grep -q 'FROM pgbridge.listener_state' <<<"$installed_body" || {
  echo "pgbridge.$function_name does not read the waiting flag: is it the body install generated? Re-install the watch first" >&2; exit 2; }
body_of() {
  case "$1" in
    outbox) printf '%s\n' "$installed_body" ;;
    outbox-without-flag) printf '%s\n' "$installed_body" | sed '/^      IF (SELECT waiting FROM pgbridge.listener_state) THEN$/,/^      END IF;$/d' ;;
    *) cat "$here/$1.sql" ;;
  esac
}
restore() { printf '%s;\n' "$original" | psql "$PROBE_URL" -qX >/dev/null; }
trap restore EXIT
wal_per_tx() {
  psql "$1" -qAtX <<SQL
CREATE OR REPLACE PROCEDURE probe_one_row_transactions() LANGUAGE plpgsql AS \$\$
BEGIN FOR i IN 1..20000 LOOP INSERT INTO items (n, note) VALUES (i, 'inserted'); COMMIT; END LOOP; END \$\$;
CHECKPOINT;
SELECT pg_current_wal_lsn() AS before \gset
CALL probe_one_row_transactions();
SELECT round((pg_current_wal_lsn() - :'before'::pg_lsn) / 20000.0);
DROP PROCEDURE probe_one_row_transactions();
SQL
}
tps() { "$pgbench" -n -c 8 -j 8 -T "$seconds" -f "$here/../capture-modes/insert-one.pgbench" "$1" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}'; }
printf '%-22s %s\n' variant "tx/s per round (8 writers) | WAL bytes per tx"
for variant in none empty outbox-without-json outbox-without-flag outbox wal-message; do
  url=$PROBE_URL
  if [ "$variant" = none ]; then url=$PROBE_NONE_URL; else
    { echo "CREATE OR REPLACE FUNCTION pgbridge.$function_name() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS \$probe\$"
      body_of "$variant"; echo "\$probe\$;"; } | psql "$url" -qX >/dev/null
  fi
  results=""
  for _ in $(seq "$rounds"); do psql "$url" -qAtX -c CHECKPOINT >/dev/null; results="$results $(tps "$url")"; done
  printf '%-22s %s | %s\n' "$variant" "$results" "$(wal_per_tx "$url")"
done
