/**
 * A process of its own that starts an embedded server. `bindir PACKAGE`: from the binaries
 * package given, prints the directory the server runs its programs from, and stops it again.
 * `exit-without-stop`: starts one in its own session, prints its data directory and process
 * id and exits without stopping it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres } from '../../lib/local/embedded-postgres.ts';

const [mode, binariesPackage] = process.argv.slice(2);
if (mode === 'exit-without-stop') {
  const server = new EmbeddedPostgres({ ownSession: true });
  await server.start();
  const pid = readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
  console.log(`${server.dataDir} ${pid}`);
  process.exit(0);
}
const server = new EmbeddedPostgres({ binariesPackage });
await server.start();
try {
  const client = new pg.Client({ connectionString: server.connectionString });
  await client.connect();
  const { rows } = await client.query(`SELECT setting FROM pg_config WHERE name = 'BINDIR'`);
  await client.end();
  console.log(rows[0].setting);
} finally {
  await server.destroy();
}
