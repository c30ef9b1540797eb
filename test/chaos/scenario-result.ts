import type { ListenerProcess } from '../support/listener-process.ts';
import { writtenIds, type ChaosEnvironment } from './chaos-environment.ts';
import type { MessageCollector } from './message-collector.ts';

/** One row of the chaos table. */
export interface ScenarioResult {
  scenario: string;
  written: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** From the end of the fault to the last event delivered. */
  recoverMs: number | null;
  notes: string;
  /** Other broken promises found (rows out of order, accepted events sent again): must be 0. */
  violations: number;
}

export function tally(
  scenario: string,
  written: Set<string>,
  /** How many times each event id was received (or otherwise accounted for). */
  received: Map<string, number>,
  recoverMs: number | null,
  notes: string,
  violations = 0,
): ScenarioResult {
  let delivered = 0;
  for (const id of written) if (received.has(id)) delivered++;
  let duplicated = 0;
  for (const count of received.values()) duplicated += count - 1;
  return { scenario, written: written.size, delivered, lost: written.size - delivered, duplicated, recoverMs, notes, violations };
}

/** Waits until every written event was received once at least; returns how long that took. */
export async function waitForDelivery(written: Set<string>, collector: MessageCollector, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    let missing = false;
    for (const id of written) {
      if (!collector.counts.has(id)) {
        missing = true;
        break;
      }
    }
    if (!missing) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

/**
 * Once the fault is over: waits until every committed event was received, then stops the
 * collector and the listeners. Returns what was written and how long recovery took.
 */
export async function recoverAfterFault(
  env: ChaosEnvironment,
  collector: MessageCollector,
  listeners: ListenerProcess[],
  timeoutMs: number,
): Promise<{ written: Set<string>; recoverMs: number | null }> {
  const faultEnded = Date.now();
  const written = await writtenIds(env.url);
  const waited = await waitForDelivery(written, collector, timeoutMs);
  const recoverMs = waited === null ? null : Date.now() - faultEnded;
  await collector.stop();
  for (const listener of listeners) listener.child.kill('SIGTERM');
  await Promise.all(listeners.map((listener) => listener.exited));
  return { written, recoverMs };
}
