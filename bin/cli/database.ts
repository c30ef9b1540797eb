import pg from 'pg';

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
