import { summariseDelays } from '../measure/percentiles.ts';
import type { SoakPhase, SoakRow } from './soak-row.ts';

/** The outage run in figures: the writers before, during and after, and the catch-up. */
export interface OutageSummary {
  outageSeconds: number;
  /** Writers' mean rate and commit latency p99 in each phase. */
  phases: Record<Exclude<SoakPhase, 'sustained'>, { transactionsPerSecond: number; latencyP99Ms: number; latencyP50Ms: number }>;
  /** Outage ÷ before; the writers are paced, so a ratio below 1 means they could not keep up. */
  outageWriterRatio: number;
  /** Whether the killed listener left the waiting flag set (every writer transaction then NOTIFYs). */
  waitingFlagDuringOutage: boolean;
  /** Events in the outbox when the listener was started again, and what the writers committed during the outage. */
  waitingAtRestart: number;
  writtenDuringOutage: number;
  /** From the restart (listener start-up included) until every event waiting then was published. */
  drainSeconds: number;
  /** False when the catch-up timeout ended the run first. */
  drained: boolean;
  /** Events waiting when the catch-up ended: written during it, after the backlog (the drain takes the oldest first). */
  waitingAfterCatchUp: number;
  /** Events published per second during the catch-up: waiting at the restart + written since − still waiting at its end. */
  catchUpEventsPerSecond: number;
}

export function phaseFigures(rows: SoakRow[], latencies: Map<SoakPhase, number[]>, phase: SoakPhase) {
  const inPhase = rows.filter((row) => row.phase === phase);
  const seconds = inPhase.reduce((sum, row) => sum + row.seconds, 0);
  const transactions = inPhase.reduce((sum, row) => sum + row.writerTransactionsPerSecond * row.seconds, 0);
  const latency = summariseDelays(latencies.get(phase) ?? []);
  return { transactionsPerSecond: transactions / seconds, latencyP99Ms: latency.p99, latencyP50Ms: latency.p50, seconds, transactions };
}
