import type pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import { buildMessage } from '../../lib/message/build-message.ts';
import type { OutboxEvent } from '../../lib/message/outbox-event.ts';
import { publishAll } from '../../lib/sinks/batch-publisher.ts';
import type { OutgoingMessage, Sink } from '../../lib/sinks/sink.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RetryBook } from './retry-book.ts';

export interface DrainOptions {
  /** Events fetched (and locked) per drain transaction. */
  batchSize: number;
  /** Batch calls to the sink in flight at once. */
  maxInFlight: number;
  /** Content rejections (SenderFault) before an event is parked. */
  parkAfterRejections: number;
}

export interface DrainResult {
  fetched: number;
  published: number;
  parked: number;
  /** Failed this round, back in the outbox with a backoff. */
  retrying: number;
  /** Not attempted (FIFO: an earlier event of the same row is waiting). */
  held: number;
  /** Entries the sink refused or that did not reach it. */
  failed: number;
  /** The oldest published event's `at` (JSON text) and when the sink accepted it, on this machine's clock. */
  oldestPublished?: { at: string; acceptedAtMs: number };
  /** Every call to the sink failed: it is down or unreachable. */
  sinkDown: boolean;
  /** Why, when `sinkDown`. */
  sinkError?: string;
}

/**
 * One drain round in one transaction: lock the oldest events, publish them, delete what the
 * sink accepted, park what it can never accept, and leave the rest for a retry. A crash at any
 * point rolls back to "still in the outbox", so events are sent at least once, never lost.
 */
export async function drainOnce(
  client: pg.ClientBase,
  sink: Sink,
  retries: RetryBook,
  options: DrainOptions,
  log: Logger,
): Promise<DrainResult> {
  const result: DrainResult = { fetched: 0, published: 0, parked: 0, retrying: 0, held: 0, failed: 0, sinkDown: false };
  await client.query('BEGIN');
  try {
    // One clock for the whole round: an event whose backoff ends between the fetch (which left
    // it out) and the FIFO check below must still hold back the later events of its row.
    const now = Date.now();
    const { rows } = await client.query<OutboxEvent>(statement('drain/fetch-events'), [options.batchSize, retries.waitingIds(now)]);
    result.fetched = rows.length;
    if (rows.length === 0) {
      await client.query('COMMIT');
      return result;
    }
    retries.prune(new Set(rows.map((row) => row.id)), now);

    const blockedGroups = sink.fifo ? retries.blockedGroups(now) : undefined;
    const messages: OutgoingMessage[] = [];
    const heldBehindBackoff: { id: string; groupId: string }[] = [];
    const toPark = new Map<string, string>();
    for (const event of rows) {
      const built = buildMessage(event, sink);
      if (!built.ok) {
        toPark.set(event.id, built.reason);
        continue;
      }
      if (blockedGroups?.has(built.message.groupId!)) {
        heldBehindBackoff.push({ id: event.id, groupId: built.message.groupId! });
        result.held++;
        continue;
      }
      if (built.truncated)
        log.warn({
          msg: 'row too large for the sink, sent truncated (PGBRIDGE_PAYLOAD_BUCKET sends it whole)',
          eventId: event.id,
          table: `${event.schema_name}.${event.table_name}`,
        });
      messages.push(built.message);
    }

    const report = await publishAll(sink, messages, options.maxInFlight);
    const acceptedAtMs = Date.now();
    result.sinkDown = report.calls > 0 && report.failedCalls === report.calls;
    if (result.sinkDown) {
      const first = report.outcomes.find((outcome) => !outcome.ok && 'message' in outcome);
      result.sinkError = first && 'message' in first ? first.message : undefined;
    }
    const accepted: string[] = [];
    const heldInRound: string[] = [];
    let firstRetry: { eventId: string; code: string; reason: string; attempts: number } | undefined;
    const groupOf = new Map(messages.map((message) => [message.id, message.groupId]));
    for (const outcome of report.outcomes) {
      if (outcome.ok) {
        accepted.push(outcome.id);
        retries.forget(outcome.id);
      } else if ('held' in outcome) {
        heldInRound.push(outcome.id);
        result.held++;
      } else if (result.sinkDown) {
        // The endpoint is down: the listener backs off as a whole; no per-event bookkeeping.
      } else {
        const entry = retries.recordFailure(outcome.id, groupOf.get(outcome.id), !outcome.retryable);
        if (!outcome.retryable && entry.rejections >= options.parkAfterRejections) {
          toPark.set(outcome.id, `${outcome.code}: ${outcome.message}`);
          retries.forget(outcome.id);
        } else {
          result.retrying++;
          firstRetry ??= { eventId: outcome.id, code: outcome.code, reason: outcome.message, attempts: entry.attempts };
        }
      }
    }

    result.failed = report.outcomes.length - accepted.length - heldInRound.length;

    // One line per round, not per event: a throttled endpoint fails thousands of entries.
    if (firstRetry) log.warn({ msg: 'sink refused events, will retry them', count: result.retrying, first: firstRetry });

    // After the failures above are recorded, so that held events wait exactly as long.
    retries.hold([...heldBehindBackoff, ...heldInRound.map((id) => ({ id, groupId: groupOf.get(id)! }))]);

    if (accepted.length > 0) {
      const acceptedIds = new Set(accepted);
      await client.query(statement('drain/delete-events'), [accepted, ...countedPerTable(rows.filter((row) => acceptedIds.has(row.id)))]);
    }
    if (toPark.size > 0) {
      await client.query(statement('drain/park-events'), [[...toPark.keys()], [...toPark.values()]]);
      for (const [eventId, reason] of toPark) log.error({ msg: 'event parked: the sink will never accept it', eventId, reason });
    }
    await client.query('COMMIT');
    result.published = accepted.length;
    result.parked = toPark.size;
    if (accepted.length > 0) {
      // Rows come oldest first; usually the first one was accepted.
      const acceptedIds = new Set(accepted);
      const oldest = rows.find((row) => acceptedIds.has(row.id));
      if (oldest) result.oldestPublished = { at: oldest.at, acceptedAtMs };
    }
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Parameters $2-$5 of drain/delete-events (and wal/record-published): published events counted
 * per table and label, for `pgbridge status`.
 */
export function countedPerTable(events: OutboxEvent[]): [string[], string[], string[], number[]] {
  const counts = new Map<string, { schema: string; table: string; label: string; events: number }>();
  for (const event of events) {
    const label = event.label ?? '';
    const key = JSON.stringify([event.schema_name, event.table_name, label]);
    const entry = counts.get(key) ?? { schema: event.schema_name, table: event.table_name, label, events: 0 };
    entry.events++;
    counts.set(key, entry);
  }
  const entries = [...counts.values()];
  return [
    entries.map((entry) => entry.schema),
    entries.map((entry) => entry.table),
    entries.map((entry) => entry.label),
    entries.map((entry) => entry.events),
  ];
}
