/**
 * A process of its own that starts an embedded server from the binaries package given as its
 * argument, prints the directory the server runs its programs from, and stops it again.
 */
import pg from 'pg';
import { EmbeddedPostgres } from '../../lib/local/embedded-postgres.ts';

const server = new EmbeddedPostgres({ binariesPackage: process.argv[2] });
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
