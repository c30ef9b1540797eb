import pg from 'pg';
import type { Workload } from './workloads.ts';

export interface WriterResult {
  transactions: number;
  seconds: number;
  transactionsPerSecond: number;
  /** Every transaction committed, warm-up and stragglers included: what the WAL of the run was written for. */
  committed: number;
}

/**
 * `writers` connections each committing transactions back to back (closed loop, like pgbench).
 * Only transactions that finish inside the measured window count; the warm-up lets plans get
 * cached and the listener settle.
 */
export async function runSaturatingWriters(
  databaseUrl: string,
  workload: Workload,
  writers: number,
  { seconds, warmupSeconds }: { seconds: number; warmupSeconds: number },
): Promise<WriterResult> {
  const clients = await connectWriters(databaseUrl, writers);
  const start = Date.now() + warmupSeconds * 1000;
  const end = start + seconds * 1000;
  let transactions = 0;
  let committed = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (Date.now() < end) {
        await client.query(workload.transaction());
        committed++;
        const now = Date.now();
        if (now >= start && now < end) transactions++;
      }
    }),
  );
  await Promise.all(clients.map((client) => client.end()));
  return { transactions, seconds, transactionsPerSecond: transactions / seconds, committed };
}

export async function connectWriters(databaseUrl: string, count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-writer' });
      await client.connect();
      return client;
    }),
  );
}
