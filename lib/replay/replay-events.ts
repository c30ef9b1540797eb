import type pg from 'pg';
import { statement } from '../capture/sql-files.ts';
import { ConfigError } from '../errors.ts';
import { buildMessage } from '../message/build-message.ts';
import type { OutboxEvent } from '../message/outbox-event.ts';
import { publishAll } from '../sinks/batch-publisher.ts';
import type { OutgoingMessage, Sink } from '../sinks/sink.ts';

/** Where a replay range starts or ends: an event id, or an instant compared with the event's `at`. */
export type ReplayBound = { id: string } | { at: string };

export interface ReplayOptions {
  /** Inclusive. */
  since: ReplayBound;
  /** Exclusive. @default everything retained after `since` */
  until?: ReplayBound;
  /** Only this table's events. */
  table?: { schema: string; name: string };
  /** Sent as the `target` attribute and body field, so that only the consumer of that name receives the events. */
  target?: string;
  /** Events published per second at most. */
  rate: number;
  /** Attempts per event before the replay stops (throttling, a sink that is down). @default 5 */
  attempts?: number;
  /** First retry delay, doubled per attempt. @default 200 */
  retryBaseMs?: number;
  /** Called after every page sent, with the report so far. */
  onProgress?: (report: ReplayReport) => void;
}

export interface ReplayReport {
  replayed: number;
  firstId?: string;
  lastId?: string;
  /** Events the sink refused for their content, with the reason: not sent, the replay went on. */
  refused: { id: string; reason: string }[];
  /** When `since` lies before the oldest event still kept: what is gone. */
  expiredBefore?: { id: string; at: string };
}

/** The sink kept failing; the message names the event to resume from. */
export class ReplayInterrupted extends Error {
  override name = 'ReplayInterrupted';
}

// Two calls at once: a replay should leave the sink's throughput to the live listener.
const MAX_IN_FLIGHT = 2;
const MAX_PAGE = 100;

/**
 * Publishes retained events again, in id order, with their original ids and bodies, at most
 * `rate` a second. Reads pages of pgbridge.published without locks, so the listener's drain
 * is not held up; the bounded rate leaves it the sink's throughput.
 */
export async function replayEvents(client: pg.ClientBase, sink: Sink, options: ReplayOptions): Promise<ReplayReport> {
  const retention = (await client.query(statement('replay/retention-state'))).rows[0];
  if (retention.days === null) {
    throw new ConfigError(
      'nothing to replay: retention is off, so published events are deleted once AWS accepts them. Set "retention": "7d" in pgbridge.config.json (or the PgBridge retention prop) and install again; events published from then on can be replayed',
    );
  }
  if (options.table) await assertKnownTable(client, options.table);
  const report: ReplayReport = { replayed: 0, refused: [] };
  if (retention.oldest_id !== null && startsBeforeOldest(options.since, retention.oldest_id, JSON.parse(retention.oldest_at))) {
    report.expiredBefore = { id: retention.oldest_id, at: JSON.parse(retention.oldest_at) };
  }

  const limits = { fifo: sink.fifo, maxMessageBytes: sink.maxMessageBytes };
  const pageSize = Math.max(1, Math.min(MAX_PAGE, options.rate));
  const started = Date.now();
  let cursor: string | null = null;
  for (;;) {
    const page: pg.QueryResult<OutboxEvent> = await client.query<OutboxEvent>(statement('replay/fetch-published'), [
      cursor,
      idOf(options.since),
      idOf(options.until),
      atOf(options.since),
      atOf(options.until),
      options.table?.schema ?? null,
      options.table?.name ?? null,
      pageSize,
    ]);
    const rows = page.rows;
    if (rows.length === 0) return report;
    const messages: OutgoingMessage[] = [];
    for (const event of rows) {
      // --target replaces the target a targeted backfill's event had: one consumer gets it.
      const built = buildMessage(options.target ? { ...event, target: options.target } : event, limits);
      if (!built.ok) {
        report.refused.push({ id: event.id, reason: built.reason });
        continue;
      }
      messages.push(built.message);
    }
    await publishWithRetries(sink, messages, options, report);
    cursor = rows.at(-1)!.id;
    options.onProgress?.(report);
    // Paced on the whole run, not per page: a slow page is not followed by a burst.
    const due = started + ((report.replayed + report.refused.length) / options.rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

async function publishWithRetries(sink: Sink, messages: OutgoingMessage[], options: ReplayOptions, report: ReplayReport): Promise<void> {
  const attempts = options.attempts ?? 5;
  let pending = messages;
  let lastFailure = '';
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > attempts) {
      throw new ReplayInterrupted(
        `replay stopped: the sink refused event ${pending[0]!.id} ${attempts} times (${lastFailure}); ` +
          `${report.replayed} event(s) were replayed${report.lastId ? `, up to ${report.lastId} in id order` : ''}. Run the same replay with --since ${pending[0]!.id} to go on`,
      );
    }
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, (options.retryBaseMs ?? 200) * 2 ** (attempt - 2)));
    const { outcomes } = await publishAll(sink, pending, MAX_IN_FLIGHT);
    const accepted = new Set<string>();
    const retry = new Set<string>();
    for (const outcome of outcomes) {
      if (outcome.ok) accepted.add(outcome.id);
      else if ('held' in outcome || outcome.retryable) {
        retry.add(outcome.id);
        if (!('held' in outcome)) lastFailure = `${outcome.code}: ${outcome.message}`;
      } else report.refused.push({ id: outcome.id, reason: `${outcome.code}: ${outcome.message}` });
    }
    for (const message of pending) {
      if (!accepted.has(message.id)) continue;
      report.replayed++;
      report.firstId ??= message.id;
      report.lastId = message.id;
    }
    // In the original order, so a FIFO row's events go out in order on the next attempt too.
    pending = pending.filter((message) => retry.has(message.id));
  }
}

async function assertKnownTable(client: pg.ClientBase, table: { schema: string; name: string }): Promise<void> {
  const { rows } = await client.query(statement('replay/known-table'), [table.schema, table.name]);
  if (!rows[0].known) {
    throw new ConfigError(
      `--table ${table.schema}.${table.name}: not a watched table, and no retained event comes from it (watched: ${rows[0].watched ?? 'none'})`,
    );
  }
}

function startsBeforeOldest(since: ReplayBound, oldestId: string, oldestAt: string): boolean {
  return 'id' in since ? BigInt(since.id) < BigInt(oldestId) : Date.parse(since.at) < Date.parse(oldestAt);
}

function idOf(bound: ReplayBound | undefined): string | null {
  return bound && 'id' in bound ? bound.id : null;
}

function atOf(bound: ReplayBound | undefined): string | null {
  return bound && 'at' in bound ? bound.at : null;
}
