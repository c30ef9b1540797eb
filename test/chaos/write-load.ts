import pg from 'pg';

// An uncorrelated subquery: evaluated once, found through the primary key.
const RANDOM_ID = `(SELECT 1 + floor(random() * (SELECT coalesce(max(id), 1) FROM chaos_rows))::int)`;

export interface WriteLoadOptions {
  url: string;
  writers: number;
  /** Stop after this many events were committed (inserts, updates and deletes all count). */
  events: number;
  /** Pause between transactions per writer, to offer a load instead of saturating. */
  pauseMs?: number;
}

/**
 * Concurrent writers doing what applications do: multi-row inserts, updates (value + 1, so a
 * row's events carry increasing values) and deletes, each in its own transaction. Writers that
 * lose their connection (a restarting database) reconnect and go on; a failed transaction
 * rolled back and produced no event, which is exactly what the audit trigger records.
 */
export async function runWriteLoad({
  url,
  writers,
  events,
  pauseMs = 0,
}: WriteLoadOptions): Promise<{ committed: number; failedTransactions: number }> {
  let committed = 0;
  let failedTransactions = 0;
  let failuresInARow = 0;
  const writer = async () => {
    let client: pg.Client | undefined;
    while (committed < events) {
      try {
        if (!client) {
          client = new pg.Client(url);
          client.on('error', () => undefined);
          await client.connect();
        }
        const roll = Math.random();
        let result: pg.QueryResult;
        if (roll < 0.5) {
          const rows = 1 + Math.floor(Math.random() * 5);
          result = await client.query(`INSERT INTO chaos_rows (note) SELECT 'n' || g FROM generate_series(1, $1::int) AS g`, [rows]);
        } else if (roll < 0.85) {
          result = await client.query(`UPDATE chaos_rows SET value = value + 1 WHERE id = ${RANDOM_ID}`);
        } else {
          result = await client.query(`DELETE FROM chaos_rows WHERE id = ${RANDOM_ID}`);
        }
        committed += result.rowCount ?? 0;
        failuresInARow = 0;
      } catch (error) {
        failedTransactions++;
        // A restart fails transactions for a while; a broken workload fails them forever.
        if (++failuresInARow > 1000) throw error;
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    await client?.end().catch(() => undefined);
  };
  await Promise.all(Array.from({ length: writers }, writer));
  return { committed, failedTransactions };
}
