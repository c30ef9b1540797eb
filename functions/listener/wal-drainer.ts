import type pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import type { Action } from '../../lib/config/watch-config.ts';
import type { Logger } from '../../lib/logger.ts';
import { buildMessage } from '../../lib/message/build-message.ts';
import type { OutboxEvent } from '../../lib/message/outbox-event.ts';
import { publishAll } from '../../lib/sinks/batch-publisher.ts';
import type { OutgoingMessage, Sink } from '../../lib/sinks/sink.ts';
import { decodeRound, type Relation, textValues, type WalChange } from '../../lib/wal/wal-changes.ts';
import { type ChangeImages, eventsOf, outboxEventOf, type RowValues, type WalEvent, type WalWatch } from '../../lib/wal/wal-events.ts';
import { countedPerTable, type DrainOptions, type DrainResult } from './outbox-drainer.ts';
import type { RetryBook } from './retry-book.ts';
import { statementRefused } from './statement-refused.ts';
import { failingRowConditions } from './wal-row-conditions.ts';
import { WalStream } from './wal-stream.ts';

export interface WalCapture {
  publication: string;
  slot: string;
}

/** How long the watch definitions read from the database are used before they are read again. */
const WATCHES_TTL_MS = 5_000;

/**
 * Drains the WAL watches: takes committed transactions from the capture slot's stream, turns
 * their changes into the events the watches' triggers would have written, publishes them and
 * only then confirms the slot past them. A crash anywhere before the confirmation streams the
 * same changes again, with the same event ids (pgbridge.wal_round): sent at least once, never
 * lost. A round with failures is not confirmed: its transactions stay at the head of the queue
 * and are tried again once the backoff is over; the events this process already got accepted
 * are not sent twice.
 */
export class WalDrainer {
  private watches?: { byTable: Map<number, WalWatch[]>; loadedAt: number };
  /**
   * Events of the unconfirmed round that the sink accepted or that were parked, by what they
   * are (change, watch, action) rather than by id: should the ids of a round read again ever
   * fall differently, an event is still never taken for another one.
   */
  private readonly settled = new Set<string>();
  private notBefore = 0;
  private readonly stream: WalStream;
  /** The tables the stream described so far (pgoutput describes each once per session). */
  private readonly relations = new Map<number, Relation>();

  constructor(
    readonly capture: WalCapture,
    private readonly retries: RetryBook,
    replication: pg.ClientConfig,
    confirmedAt: string,
    wake: () => void,
  ) {
    // A commit wakes the listener, unless a failed round waits out its backoff anyway.
    this.stream = WalStream.start(replication, capture, confirmedAt, () => {
      if (Date.now() >= this.notBefore) wake();
    });
  }

  /** When the next round may run (a round with failures waits out their backoff). */
  get dueAt(): number {
    return this.notBefore;
  }

  /** Committed transactions are waiting and no backoff holds them. */
  get ready(): boolean {
    return Date.now() >= this.notBefore && this.stream.head(1).length > 0;
  }

  async stop(): Promise<void> {
    await this.stream.stop();
  }

  async drainOnce(client: pg.ClientBase, sink: Sink, options: DrainOptions, log: Logger): Promise<DrainResult> {
    const result: DrainResult = { fetched: 0, published: 0, parked: 0, retrying: 0, held: 0, failed: 0, sinkDown: false };
    this.stream.assertHealthy();
    const now = Date.now();
    if (now < this.notBefore) return result;
    const transactions = this.stream.head(options.batchSize);
    if (transactions.length === 0) return result;
    const readFrom = this.stream.readFrom;
    const round = decodeRound(
      transactions.flatMap((transaction) => transaction.messages),
      this.relations,
    );
    const { rows: start } = await client.query<{ next_xid: string; retained: boolean }>(statement('wal/round-start'));
    const { retained } = start[0]!;
    const nextFullXid = BigInt(start[0]!.next_xid);

    // Ids go to every event the watches' rules give, before their `when` is evaluated: a
    // condition can answer differently when a round is read again (it is evaluated as the round
    // is read), and ids are handed out by position in the round.
    const { events, keptOut } = await this.eventsOf(client, round.changes, log);
    result.fetched = events.length - keptOut.size;
    if (events.length === 0) {
      this.stream.confirm(transactions.length);
      return result;
    }
    const { rows: idRows } = await client.query<{ ids: string[]; kept: number }>(statement('wal/round-ids'), [
      readFrom,
      events.length,
      this.capture.slot,
    ]);
    const { ids, kept } = idRows[0]!;
    const outboxEvents = events.map((event, index) => ({ event, outbox: outboxEventOf(event, ids[index]!, nextFullXid) }));

    const blockedGroups = sink.fifo ? this.retries.blockedGroups(now) : undefined;
    const messages: OutgoingMessage[] = [];
    const toPark = new Map<string, { outbox: OutboxEvent; event: WalEvent; reason: string }>();
    let heldBehindBackoff = 0;
    for (const { event, outbox } of outboxEvents) {
      if (keptOut.has(event) || this.settled.has(eventKey(event))) continue;
      const built = buildMessage(outbox, sink);
      if (!built.ok) {
        toPark.set(outbox.id, { outbox, event, reason: built.reason });
        continue;
      }
      if (blockedGroups?.has(built.message.groupId!)) {
        heldBehindBackoff++;
        continue;
      }
      if (built.truncated)
        log.warn({
          msg: 'row too large for the sink, sent truncated (PGBRIDGE_PAYLOAD_BUCKET sends it whole)',
          eventId: outbox.id,
          table: `${outbox.schema_name}.${outbox.table_name}`,
        });
      messages.push(built.message);
    }

    const report = await publishAll(sink, messages, options.maxInFlight);
    const acceptedAtMs = Date.now();
    result.sinkDown = report.calls > 0 && report.failedCalls === report.calls;
    if (result.sinkDown) {
      const first = report.outcomes.find((outcome) => !outcome.ok && 'message' in outcome);
      result.sinkError = first && 'message' in first ? first.message : undefined;
      return result;
    }
    const groupOf = new Map(messages.map((message) => [message.id, message.groupId]));
    const eventOf = new Map(outboxEvents.map(({ event, outbox }) => [outbox.id, event]));
    const acceptedNow = new Set<string>();
    let firstRetry: { eventId: string; code: string; reason: string; attempts: number } | undefined;
    result.held = heldBehindBackoff;
    for (const outcome of report.outcomes) {
      if (outcome.ok) {
        acceptedNow.add(outcome.id);
        this.settled.add(eventKey(eventOf.get(outcome.id)!));
        this.retries.forget(outcome.id);
      } else if ('held' in outcome) {
        result.held++;
      } else {
        const entry = this.retries.recordFailure(outcome.id, groupOf.get(outcome.id), !outcome.retryable);
        if (!outcome.retryable && entry.rejections >= options.parkAfterRejections) {
          const found = outboxEvents.find(({ outbox }) => outbox.id === outcome.id)!;
          toPark.set(outcome.id, { ...found, reason: `${outcome.code}: ${outcome.message}` });
          this.retries.forget(outcome.id);
        } else {
          result.retrying++;
          firstRetry ??= { eventId: outcome.id, code: outcome.code, reason: outcome.message, attempts: entry.attempts };
        }
      }
    }
    result.failed = report.outcomes.length - acceptedNow.size - (result.held - heldBehindBackoff);
    if (firstRetry) log.warn({ msg: 'sink refused events, will retry them', count: result.retrying, first: firstRetry });

    if (toPark.size > 0) {
      await client.query(statement('wal/park-events'), [
        `[${[...toPark.values()].map(({ outbox, event, reason }) => rowJson(outbox, event, reason)).join(',')}]`,
      ]);
      for (const [eventId, { reason }] of toPark) {
        this.settled.add(eventKey(eventOf.get(eventId)!));
        log.error({ msg: 'event parked: the sink will never accept it', eventId, reason });
      }
    }
    result.published = acceptedNow.size;
    result.parked = toPark.size;
    const accepted = outboxEvents.filter(({ outbox }) => acceptedNow.has(outbox.id));
    if (accepted.length > 0) {
      result.oldestPublished = { at: accepted[0]!.outbox.at, acceptedAtMs };
      await client.query(statement('wal/record-published'), [
        retained ? `[${accepted.map(({ outbox, event }) => rowJson(outbox, event)).join(',')}]` : '[]',
        ...countedPerTable(accepted.map(({ outbox }) => outbox)),
      ]);
    }

    if (result.retrying > 0 || result.held > 0) {
      // Not confirmed: the round comes back, and the slot keeps the changes until it is through.
      this.notBefore = this.retries.nextDueAt() ?? Date.now() + 100;
      return result;
    }
    const next = this.stream.confirm(transactions.length);
    this.settled.clear();
    // A longer round was read from here before (then the listener stopped): the ids it had
    // beyond this round's belong to the transactions that come next.
    if (kept > events.length) await client.query(statement('wal/keep-later-ids'), [readFrom, events.length, next]);
    return result;
  }

  /**
   * The round's events: its changes' images converted by Postgres, then each watch's rules;
   * `keptOut`, those of them whose watch's `when` does not hold for their change.
   */
  private async eventsOf(
    client: pg.ClientBase,
    changes: WalChange[],
    log: Logger,
  ): Promise<{ events: WalEvent[]; keptOut: Set<WalEvent> }> {
    const keptOut = new Set<WalEvent>();
    if (changes.length === 0) return { events: [], keptOut };
    let byTable = await this.watchesByTable(client, false);
    if (changes.some((change) => !byTable.has(change.relation.oid))) byTable = await this.watchesByTable(client, true);
    const watched = changes.filter((change) => byTable.has(change.relation.oid));
    const images = await convertImages(client, watched, log);
    const events = watched.flatMap((change, index) =>
      byTable.get(change.relation.oid)!.flatMap((watch) => eventsOf(change, images[index]!, watch)),
    );
    // Only changes that give a watch an event are evaluated (an update of columns it does not
    // look at is out already), once per change even when it gives two (a key change).
    const conditional = new Map<WalWatch, Map<WalChange, WalEvent[]>>();
    for (const event of events) {
      if (event.watch.when === undefined || event.action === 'truncate') continue;
      const perChange = conditional.get(event.watch) ?? new Map<WalChange, WalEvent[]>();
      conditional.set(event.watch, perChange);
      perChange.set(event.change, [...(perChange.get(event.change) ?? []), event]);
    }
    for (const [watch, perChange] of conditional)
      for (const change of await failingRowConditions(client, watch, [...perChange.keys()], log))
        for (const event of perChange.get(change)!) keptOut.add(event);
    return { events, keptOut };
  }

  private async watchesByTable(client: pg.ClientBase, fresh: boolean): Promise<Map<number, WalWatch[]>> {
    if (!fresh && this.watches && Date.now() - this.watches.loadedAt < WATCHES_TTL_MS) return this.watches.byTable;
    const { rows } = await client.query(statement('wal/watches'));
    const byTable = new Map<number, WalWatch[]>();
    for (const row of rows) {
      const definition = row.definition as { actions: Action[]; columns?: string[]; payload?: string[]; exclude?: string[]; when?: string };
      const watch: WalWatch = {
        name: row.name,
        tableOid: Number(row.table_oid),
        schema: row.schema_name,
        table: row.table_name,
        label: row.label,
        actions: definition.actions,
        columns: definition.columns,
        payload: definition.payload,
        exclude: definition.exclude,
        when: definition.when,
        keyColumns: row.key_columns,
      };
      byTable.set(watch.tableOid, [...(byTable.get(watch.tableOid) ?? []), watch]);
    }
    this.watches = { byTable, loadedAt: Date.now() };
    return byTable;
  }
}

/** Images converted per query: bounds the query's size for a transaction of many rows. */
const IMAGES_PER_QUERY = 2_000;

/**
 * Each change's new and old image as column → JSON text, converted by Postgres, one query per
 * table and up to IMAGES_PER_QUERY images. A table Postgres cannot convert for (dropped since the
 * change, or a column whose type changed so that old values no longer parse) gets its values
 * as text instead, with an error logged: its events still go out, and the slot does not stall
 * on them.
 */
async function convertImages(client: pg.ClientBase, changes: WalChange[], log: Logger): Promise<ChangeImages[]> {
  const images: ChangeImages[] = changes.map(() => ({}));
  const perTable = new Map<number, { text: RowValues; apply: (values: RowValues) => void }[]>();
  changes.forEach((change, index) => {
    const list = perTable.get(change.relation.oid) ?? [];
    perTable.set(change.relation.oid, list);
    if (change.newRow)
      list.push({ text: textValues(change.relation, change.newRow, change.oldRow), apply: (values) => (images[index]!.newRow = values) });
    if (change.oldRow) list.push({ text: textValues(change.relation, change.oldRow), apply: (values) => (images[index]!.oldRow = values) });
  });
  for (const [oid, list] of perTable) {
    for (let start = 0; start < list.length; start += IMAGES_PER_QUERY) {
      const part = list.slice(start, start + IMAGES_PER_QUERY);
      const json = `[${part.map((entry) => `{${[...entry.text].map(([name, text]) => `${JSON.stringify(name)}:${text}`).join(',')}}`).join(',')}]`;
      let rows: { image: string; column_name: string; value: string }[];
      try {
        ({ rows } = await client.query(statement('wal/column-values'), [oid, json]));
      } catch (error) {
        if (!statementRefused(error)) throw error;
        const relation = changes.find((change) => change.relation.oid === oid)!.relation;
        log.error({
          msg: 'Postgres could not convert the values of WAL changes (table dropped or column type changed since); sent as text',
          table: `${relation.schema}.${relation.table}`,
          images: part.length,
          error: (error as Error).message,
        });
        for (const entry of part) entry.apply(entry.text);
        continue;
      }
      const values = part.map(() => new Map<string, string>());
      for (const row of rows) values[Number(row.image) - 1]!.set(row.column_name, row.value);
      for (const [index, entry] of part.entries()) entry.apply(values[index]!);
    }
  }
  return images;
}

/**
 * The event in the outbox's columns as JSON text, for pgbridge.parked and pgbridge.published.
 * Written by hand: the row images are JSON text from Postgres and go in as they are (parsing
 * and re-encoding them would round big numbers).
 */
function rowJson(outbox: OutboxEvent, event: WalEvent, reason?: string): string {
  return (
    `{"id":${outbox.id},"schema_name":${JSON.stringify(outbox.schema_name)},"table_name":${JSON.stringify(outbox.table_name)},` +
    `"action":${JSON.stringify(outbox.action)},"label":${JSON.stringify(outbox.label)},"key":${outbox.key ?? 'null'},` +
    `"row_data":${event.row ?? 'null'},"old_data":${event.old ?? 'null'},"key_change":${outbox.key_change ?? 'null'},` +
    `"txid":${outbox.txid},"at":${outbox.at}${reason === undefined ? '' : `,"reason":${JSON.stringify(reason)}`}}`
  );
}

/** What an event is, whatever id it got: its change, its watch, and which of a key change's two events. */
function eventKey(event: WalEvent): string {
  return `${event.change.lsn}|${event.watch.name}|${event.action}`;
}
