import { connectWriters } from './saturating-writers.ts';
import { WORKLOADS } from './workloads.ts';

/**
 * Single-row inserts at a fixed offered load (open loop: each insert has a scheduled time and
 * goes out then, whatever happened to the previous one), spread over `writers` connections.
 * Returns how many were written and how late the writers fell behind the schedule.
 */
export async function runPacedInserts(
  databaseUrl: string,
  eventsPerSecond: number,
  { seconds, writers = 8 }: { seconds: number; writers?: number },
): Promise<{ written: number; maxLagMs: number }> {
  const clients = await connectWriters(databaseUrl, writers);
  const total = Math.round(eventsPerSecond * seconds);
  const start = Date.now() + 50;
  let next = 0;
  let maxLagMs = 0;
  await Promise.all(
    clients.map(async (client) => {
      for (;;) {
        const index = next++;
        if (index >= total) return;
        const due = start + (index * 1000) / eventsPerSecond;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        else maxLagMs = Math.max(maxLagMs, -wait);
        await client.query(WORKLOADS.insert.transaction());
      }
    }),
  );
  await Promise.all(clients.map((client) => client.end()));
  return { written: total, maxLagMs };
}
