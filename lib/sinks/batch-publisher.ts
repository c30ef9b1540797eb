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
 * entry and byte limits. On a FIFO sink a message goes out only once every earlier message of
 * its group has been accepted: a batch never holds two messages of a group, a group with a call
 * in flight waits for its answer, and once a message fails the rest of its group is held. Groups
 * are otherwise free to fill any call, so a round of many rows keeps every call in flight busy.
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
  await publishFifo(sink, messages, maxInFlight, report);
  return report;
}

async function publishFifo(sink: Sink, messages: OutgoingMessage[], maxInFlight: number, report: PublishReport): Promise<void> {
  let pending = messages;
  // Each message is looked at once per call formed until it goes out: size it once.
  const sizes = new Map(messages.map((message) => [message, messageSize(message.body, message.attributes, message.numberAttributes)]));
  const groupsInFlight = new Set<string>();
  const failedGroups = new Set<string>();
  const calls = new Set<Promise<void>>();
  for (;;) {
    while (calls.size < maxInFlight) {
      const { batch, rest } = nextFifoBatch(sink, pending, sizes, groupsInFlight, failedGroups, report);
      pending = rest;
      if (batch.length === 0) break;
      for (const message of batch) groupsInFlight.add(message.groupId!);
      const call: Promise<void> = sendBatch(sink, batch, report).then((outcomes) => {
        for (const outcome of outcomes) {
          if (!outcome.ok) failedGroups.add(batch.find((message) => message.id === outcome.id)!.groupId!);
        }
        for (const message of batch) groupsInFlight.delete(message.groupId!);
        calls.delete(call);
      });
      calls.add(call);
    }
    // Nothing in flight and nothing sendable: whatever was left is held behind a failure.
    if (calls.size === 0) return;
    await Promise.race(calls);
  }
}

/**
 * The next batch, in order, of messages whose group has no call in flight and no earlier
 * message still waiting; messages of failed groups are reported held and dropped.
 */
function nextFifoBatch(
  sink: Sink,
  pending: OutgoingMessage[],
  sizes: Map<OutgoingMessage, number>,
  groupsInFlight: Set<string>,
  failedGroups: Set<string>,
  report: PublishReport,
): { batch: OutgoingMessage[]; rest: OutgoingMessage[] } {
  const batch: OutgoingMessage[] = [];
  const rest: OutgoingMessage[] = [];
  // Groups that must wait this time: in flight, already in the batch, or with a message left behind.
  const waiting = new Set<string>();
  let bytes = 0;
  for (let index = 0; index < pending.length; index++) {
    if (batch.length === sink.maxBatchEntries) {
      // Full: the rest waits as it is (held ones are found on a later pass).
      for (let later = index; later < pending.length; later++) rest.push(pending[later]!);
      break;
    }
    const message = pending[index]!;
    const group = message.groupId!;
    if (failedGroups.has(group)) {
      report.outcomes.push({ id: message.id, ok: false, held: true });
      continue;
    }
    const size = sizes.get(message)!;
    // Alone, a message always goes (as in packBatches): the sink, not the batching, refuses it.
    const fits = batch.length === 0 || (batch.length < sink.maxBatchEntries && bytes + size <= sink.maxBatchBytes);
    if (!fits || groupsInFlight.has(group) || waiting.has(group)) {
      waiting.add(group);
      rest.push(message);
      continue;
    }
    batch.push(message);
    waiting.add(group);
    bytes += size;
  }
  return { batch, rest };
}

async function sendBatch(sink: Sink, batch: OutgoingMessage[], report: PublishReport): Promise<PublishOutcome[]> {
  report.calls++;
  let outcomes: PublishOutcome[];
  try {
    // Exactly one outcome per message sent: an id the call did not carry is ignored (deleting
    // it could drop an event nobody published), and an id reported both accepted and failed
    // counts as failed (a duplicate delivery beats a lost event).
    const sent = new Set(batch.map((message) => message.id));
    const answered = new Map<string, PublishOutcome>();
    for (const outcome of await sink.publishBatch(batch)) {
      const earlier = answered.get(outcome.id);
      if (sent.has(outcome.id) && (!earlier || earlier.ok)) answered.set(outcome.id, outcome);
    }
    outcomes = batch.map(
      (message) =>
        answered.get(message.id) ?? {
          id: message.id,
          ok: false,
          retryable: true,
          code: 'NoAnswer',
          message: 'entry missing from the batch response',
        },
    );
  } catch (error) {
    report.failedCalls++;
    const reason = errorText(error);
    outcomes = batch.map((message) => ({
      id: message.id,
      ok: false,
      retryable: true,
      code: 'CallFailed',
      message: reason,
      callFailed: true,
    }));
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
    const size = messageSize(message.body, message.attributes, message.numberAttributes);
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

function errorText(error: unknown): string {
  const err = error as { name?: string; message?: string; code?: string };
  return [err.name, err.code, err.message].filter(Boolean).join(': ') || String(error);
}
