import type pg from 'pg';
import { connectWriters } from '../load/saturating-writers.ts';
import { WORKLOADS } from '../load/workloads.ts';

/** What the writers committed since the previous `takeInterval`. */
export interface WriterInterval {
  transactions: number;
  /** Commit round trips, ms. */
  latencies: number[];
  /** How far the slowest insert of the interval went out behind its scheduled time, ms. */
  maxLagMs: number;
}

/**
 * Single-row inserts at a fixed offered load until stopped (open loop, like
 * `runPacedInserts`, but unbounded): each insert has its scheduled time and goes out then, so
 * writers that stall fall behind and then catch up, and the lag shows it.
 */
export class PacedStream {
  private stopping = false;
  private interval: WriterInterval = { transactions: 0, latencies: [], maxLagMs: 0 };
  private committed = 0;
  private readonly loops: Promise<void>[];

  private constructor(
    private readonly clients: pg.Client[],
    eventsPerSecond: number,
  ) {
    const start = Date.now() + 50;
    let next = 0;
    this.loops = clients.map(async (client) => {
      while (!this.stopping) {
        const due = start + (next++ * 1000) / eventsPerSecond;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        else this.interval.maxLagMs = Math.max(this.interval.maxLagMs, -wait);
        if (this.stopping) return;
        const sent = performance.now();
        await client.query(WORKLOADS.insert.transaction());
        this.interval.latencies.push(performance.now() - sent);
        this.interval.transactions++;
        this.committed++;
      }
    });
  }

  static async start(databaseUrl: string, eventsPerSecond: number, writers: number): Promise<PacedStream> {
    return new PacedStream(await connectWriters(databaseUrl, writers), eventsPerSecond);
  }

  /** Inserts committed since the start. */
  get total(): number {
    return this.committed;
  }

  takeInterval(): WriterInterval {
    const taken = this.interval;
    this.interval = { transactions: 0, latencies: [], maxLagMs: 0 };
    return taken;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    await Promise.all(this.clients.map((client) => client.end()));
  }
}
