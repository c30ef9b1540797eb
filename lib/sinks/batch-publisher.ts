import { messageSize, type EntryOutcome, type OutgoingMessage, type Sink } from './sink.ts';

/** What happened to one message in `publishAll`. */
export type PublishOutcome =
  | EntryOutcome
  /** The whole call failed (network, throttling of the call, endpoint down). */
  | { id: string; ok: false; retryable: true; code: 'CallFailed'; message: string; callFailed: true }
  /** FIFO: not sent because an earlier message of its group failed in this round. */
  | { id: string; ok: false; held: true };

export interface PublishReport {
  outcomes: PublishOutcome[];
  calls: number;
  failedCalls: number;
}

/**
 * Publishes messages with up to `maxInFlight` batch calls at a time. Batches respect the sink's
 * entry and byte limits. On a FIFO sink each group is pinned to one lane whose batches go out
 * one after the other, a batch never holds two messages of a group, and once a message fails
 * the rest of its group waits: several batches are in flight, yet a row's events are never
 * accepted out of order.
 */
export async function publishAll(sink: Sink, messages: OutgoingMessage[], maxInFlight: number): Promise<PublishReport> {
  const report: PublishReport = { outcomes: [], calls: 0, failedCalls: 0 };
  if (messages.length === 0) return report;
  if (!sink.fifo) {
    const batches = packBatches(sink, messages);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await sendBatch(sink, batches[next++]!, report);
    };
    await Promise.all(Array.from({ length: Math.min(maxInFlight, batches.length) }, worker));
    return report;
  }
  const lanes: OutgoingMessage[][] = Array.from({ length: maxInFlight }, () => []);
  for (const message of messages) lanes[laneOf(message.groupId!, maxInFlight)]!.push(message);
  await Promise.all(lanes.filter((lane) => lane.length > 0).map((lane) => publishFifoLane(sink, lane, report)));
  return report;
}

async function publishFifoLane(sink: Sink, pending: OutgoingMessage[], report: PublishReport): Promise<void> {
  const failedGroups = new Set<string>();
  while (pending.length > 0) {
    const batch: OutgoingMessage[] = [];
    const groupsInBatch = new Set<string>();
    let bytes = 0;
    const later: OutgoingMessage[] = [];
    for (const message of pending) {
      const group = message.groupId!;
      if (failedGroups.has(group)) {
        report.outcomes.push({ id: message.id, ok: false, held: true });
        continue;
      }
      const size = messageSize(message.body, message.attributes);
      const fits = batch.length < sink.maxBatchEntries && bytes + size <= sink.maxBatchBytes;
      if (!fits || groupsInBatch.has(group) || laterHasGroup(later, group)) {
        later.push(message);
        continue;
      }
      batch.push(message);
      groupsInBatch.add(group);
      bytes += size;
    }
    if (batch.length === 0) break;
    const outcomes = await sendBatch(sink, batch, report);
    for (const outcome of outcomes) {
      if (!outcome.ok) failedGroups.add(batch.find((message) => message.id === outcome.id)!.groupId!);
    }
    pending = later;
  }
}

// A message may not overtake an earlier one of its group that was deferred to a later batch.
function laterHasGroup(later: OutgoingMessage[], group: string): boolean {
  for (const message of later) if (message.groupId === group) return true;
  return false;
}

async function sendBatch(sink: Sink, batch: OutgoingMessage[], report: PublishReport): Promise<PublishOutcome[]> {
  report.calls++;
  let outcomes: PublishOutcome[];
  try {
    outcomes = await sink.publishBatch(batch);
    const answered = new Set(outcomes.map((outcome) => outcome.id));
    for (const message of batch) {
      if (!answered.has(message.id)) {
        outcomes.push({ id: message.id, ok: false, retryable: true, code: 'NoAnswer', message: 'entry missing from the batch response' });
      }
    }
  } catch (error) {
    report.failedCalls++;
    const reason = errorText(error);
    outcomes = batch.map((message) => ({ id: message.id, ok: false, retryable: true, code: 'CallFailed', message: reason, callFailed: true }));
  }
  report.outcomes.push(...outcomes);
  return outcomes;
}

/** Splits messages, in order, into batches within the sink's entry and byte limits. */
export function packBatches(sink: Sink, messages: OutgoingMessage[]): OutgoingMessage[][] {
  const batches: OutgoingMessage[][] = [];
  let batch: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageSize(message.body, message.attributes);
    if (batch.length > 0 && (batch.length === sink.maxBatchEntries || bytes + size > sink.maxBatchBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function laneOf(group: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < group.length; i++) hash = Math.imul(hash ^ group.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}

function errorText(error: unknown): string {
  const err = error as { name?: string; message?: string; code?: string };
  return [err.name, err.code, err.message].filter(Boolean).join(': ') || String(error);
}
