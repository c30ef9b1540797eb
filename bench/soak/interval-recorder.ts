import type pg from 'pg';
import { summariseDelays } from '../measure/percentiles.ts';
import { readOutboxStats } from './outbox-stats.ts';
import type { PacedStream } from './paced-stream.ts';
import type { SoakPhase, SoakRow } from './soak-row.ts';

const POLL_MS = 250;
/** A phase's remainder shorter than this joins the next row rather than making a row of its own. */
const SHORTEST_ROW_MS = 1000;

/** Cuts the run into rows: one per interval, and a phase never shares a row with the next. */
export class IntervalRecorder {
  readonly rows: SoakRow[] = [];
  /** Every writer commit latency of each phase, for the phase's percentiles. */
  readonly latencies = new Map<SoakPhase, number[]>();
  private readonly startedAt = Date.now();
  private rowStartedAt = this.startedAt;

  constructor(
    private readonly admin: pg.Pool,
    private readonly writers: PacedStream,
    private readonly receivedDelays: number[],
    private readonly intervalSeconds: number,
    private readonly onRow: (row: SoakRow) => void,
  ) {}

  /** Records rows until `endsAt` (epoch ms) has passed or `done` answers true, whichever comes first. */
  async runPhase(phase: SoakPhase, { endsAt = Infinity, done }: { endsAt?: number; done?: () => Promise<boolean> }): Promise<void> {
    for (;;) {
      if (Date.now() - this.rowStartedAt >= this.intervalSeconds * 1000) await this.cutRow(phase);
      if (Date.now() >= endsAt || (done && (await done()))) {
        if (Date.now() - this.rowStartedAt >= SHORTEST_ROW_MS) await this.cutRow(phase);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(POLL_MS, endsAt - Date.now()))));
    }
  }

  private async cutRow(phase: SoakPhase): Promise<void> {
    const now = Date.now();
    const writes = this.writers.takeInterval();
    const delays = this.receivedDelays.splice(0);
    const seconds = (now - this.rowStartedAt) / 1000;
    this.rowStartedAt = now;
    const phaseLatencies = this.latencies.get(phase) ?? [];
    for (const latency of writes.latencies) phaseLatencies.push(latency);
    this.latencies.set(phase, phaseLatencies);
    const row: SoakRow = {
      phase,
      atSeconds: (now - this.startedAt) / 1000,
      seconds,
      writerTransactionsPerSecond: writes.transactions / seconds,
      writerLatencyP99Ms: summariseDelays(writes.latencies).p99,
      writerMaxLagMs: writes.maxLagMs,
      drainDelay: summariseDelays(delays),
      outbox: await readOutboxStats(this.admin),
    };
    this.rows.push(row);
    this.onRow(row);
  }
}
