import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { EmbeddedPostgres } from '../../lib/local/embedded-postgres.ts';

export interface TestDatabase {
  url: string;
  /** The embedded server, when the suite started one (restart tests need it). */
  server?: EmbeddedPostgres;
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  stop(): Promise<void>;
}

/**
 * A fresh database for one test file: on the server in DATABASE_URL when set (needs CREATEDB),
 * otherwise on an embedded Postgres started for the file (PGBRIDGE_TEST_PG_PACKAGE picks
 * another binaries package, e.g. the PostgreSQL 14 one that .ci/run installs). Its data
 * directory is a fresh one under the temporary directory, so a checkout under /root is no
 * obstacle for the data; EmbeddedPostgres copies the binaries out of it when needed.
 */
export async function startTestDatabase({
  embedded = false,
  settings,
}: {
  embedded?: boolean;
  /** Server settings (`-c name=value`) of the embedded server; implies `embedded`. */
  settings?: Record<string, string>;
} = {}): Promise<TestDatabase> {
  let server: EmbeddedPostgres | undefined;
  let url: string;
  let dropDatabase = async () => {};
  if (process.env.DATABASE_URL && !embedded && !settings) {
    const name = `pgbridge_test_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const target = new URL(process.env.DATABASE_URL);
    target.pathname = `/${name}`;
    url = target.toString();
    dropDatabase = async () => {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    };
  } else {
    server = new EmbeddedPostgres({ binariesPackage: process.env.PGBRIDGE_TEST_PG_PACKAGE, settings });
    await server.start();
    url = server.databaseUrl('postgres');
  }
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  pool.on('error', () => undefined);
  return {
    url,
    server,
    query: (sql, params) => pool.query(sql, params as unknown[]),
    async stop() {
      await pool.end().catch(() => undefined);
      await dropDatabase();
      await server?.destroy();
    },
  };
}
