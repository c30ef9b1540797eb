import type { DelaySummary } from '../measure/percentiles.ts';
import type { OutboxStats } from './outbox-stats.ts';

/** `sustained`: the whole sustained run; the others are the outage run's phases, in order. */
export type SoakPhase = 'sustained' | 'before' | 'outage' | 'catch-up';

/** One interval of a soak: what the writers did, what the consumer saw, the outbox at its end. */
export interface SoakRow {
  phase: SoakPhase;
  /** End of the interval, seconds since the writers started. */
  atSeconds: number;
  seconds: number;
  writerTransactionsPerSecond: number;
  writerLatencyP99Ms: number;
  /** Furthest an insert of the interval went out behind its schedule (the writers fell behind). */
  writerMaxLagMs: number;
  /** Writer's clock to arrival in the consumer queue, of the messages received in the interval. */
  drainDelay: DelaySummary;
  outbox: OutboxStats;
}
