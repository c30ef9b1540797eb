import pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import { ConfigError } from '../../lib/errors.ts';

/**
 * One connection for one command, closed whatever happens. Without DATABASE_URL, node-postgres
 * reads PGHOST, PGUSER, PGPASSWORD, ...
 */
export async function withDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `withDatabase` for commands that need the pgbridge schema: without it, say what to run instead of a Postgres error. */
export function withInstalledDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withDatabase(async (client) => {
    const { installed } = (await client.query<{ installed: boolean }>(statement('admin/schema-exists'))).rows[0]!;
    if (!installed)
      throw new ConfigError(
        'pgbridge is not installed in this database: run `pgbridge install` first (or apply `pgbridge sql` with your migration tool)',
      );
    return work(client);
  });
}
