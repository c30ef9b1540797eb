import type pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import type { Action } from '../../lib/config/watch-config.ts';
import type { Logger } from '../../lib/logger.ts';
import { buildMessage } from '../../lib/message/build-message.ts';
import type { OutboxEvent } from '../../lib/message/outbox-event.ts';
import { publishAll } from '../../lib/sinks/batch-publisher.ts';
import type { OutgoingMessage, Sink } from '../../lib/sinks/sink.ts';
import { parseLsn, lsnText } from '../../lib/wal/pgoutput-messages.ts';
import { decodeRound, imageJson, type SlotRow, type WalChange } from '../../lib/wal/wal-changes.ts';
import { type ChangeImages, eventsOf, outboxEventOf, type RowValues, type WalEvent, type WalWatch } from '../../lib/wal/wal-events.ts';
import type { DrainOptions, DrainResult } from './outbox-drainer.ts';
import type { RetryBook } from './retry-book.ts';

export interface WalCapture {
  publication: string;
  slot: string;
}

const INSUFFICIENT_PRIVILEGE = '42501';

/** How long the watch definitions read from the database are used before they are read again. */
const WATCHES_TTL_MS = 5_000;

/**
 * Drains the WAL watches: reads committed changes from the capture slot without consuming
 * them, turns them into the events the watches' triggers would have written, publishes them and
 * only then confirms the slot past them. A crash anywhere before the confirmation reads the same
 * changes again, with the same event ids (pgbridge.wal_round): sent at least once, never lost.
 * A round with failures is not confirmed: it is read again once its backoff is over, and the
 * events this process already got accepted are not sent twice.
 */
export class WalDrainer {
  private watches?: { byTable: Map<number, WalWatch[]>; loadedAt: number };
  /** Ids of the unconfirmed round that the sink accepted or that were parked. */
  private readonly settled = new Set<string>();
  private notBefore = 0;

  constructor(
    readonly capture: WalCapture,
    private readonly retries: RetryBook,
  ) {}

  /** When the next round may run (a round with failures waits out their backoff). */
  get dueAt(): number {
    return this.notBefore;
  }

  async drainOnce(client: pg.ClientBase, sink: Sink, options: DrainOptions, log: Logger): Promise<DrainResult> {
    const result: DrainResult = { fetched: 0, published: 0, parked: 0, retrying: 0, held: 0, failed: 0, sinkDown: false };
    const now = Date.now();
    if (now < this.notBefore) return result;
    const { rows: start } = await client.query<{ read_from: string | null; upto: string; next_xid: string; retained: boolean }>(
      statement('wal/round-start'),
      [this.capture.slot],
    );
    const { upto, retained } = start[0]!;
    const readFrom = start[0]!.read_from;
    if (readFrom === null)
      throw new Error(`the replication slot ${this.capture.slot} of the "capture": "wal" watches is gone: run \`pgbridge install\``);
    const nextFullXid = BigInt(start[0]!.next_xid);
    const rows = await this.peek(client, upto, options.batchSize);
    const round = decodeRound(rows);
    // Fewer messages than asked for: everything committed before `upto` was read, and the slot
    // may move there, past the WAL of unwatched tables too (so that it does not keep it).
    const readToUpto = rows.length < options.batchSize;
    const confirmTo =
      readToUpto && (round.lastCommitEnd === undefined || round.lastCommitEnd < parseLsn(upto))
        ? upto
        : round.lastCommitEnd === undefined
          ? undefined
          : lsnText(round.lastCommitEnd);

    const events = await this.eventsOf(client, round.changes);
    result.fetched = events.length;
    if (events.length === 0) {
      if (confirmTo && confirmTo !== readFrom) await this.confirm(client, confirmTo, readFrom, 0);
      return result;
    }
    const { rows: idRows } = await client.query<{ ids: string[] }>(statement('wal/round-ids'), [readFrom, events.length]);
    const ids = idRows[0]!.ids;
    const outboxEvents = events.map((event, index) => ({ event, outbox: outboxEventOf(event, ids[index]!, nextFullXid) }));

    const blockedGroups = sink.fifo ? this.retries.blockedGroups(now) : undefined;
    const messages: OutgoingMessage[] = [];
    const toPark = new Map<string, { outbox: OutboxEvent; event: WalEvent; reason: string }>();
    let heldBehindBackoff = 0;
    for (const { event, outbox } of outboxEvents) {
      if (this.settled.has(outbox.id)) continue;
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
    const acceptedNow = new Set<string>();
    let firstRetry: { eventId: string; code: string; reason: string; attempts: number } | undefined;
    result.held = heldBehindBackoff;
    for (const outcome of report.outcomes) {
      if (outcome.ok) {
        acceptedNow.add(outcome.id);
        this.settled.add(outcome.id);
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
        this.settled.add(eventId);
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
        ...countsPerTable(accepted.map(({ outbox }) => outbox)),
      ]);
    }

    if (result.retrying > 0 || result.held > 0) {
      // Not confirmed: the round comes back, and the slot keeps the changes until it is through.
      this.notBefore = this.retries.nextDueAt() ?? Date.now() + 100;
      return result;
    }
    if (confirmTo) await this.confirm(client, confirmTo, readFrom, events.length);
    return result;
  }

  private async peek(client: pg.ClientBase, upto: string, count: number): Promise<SlotRow[]> {
    try {
      const { rows } = await client.query<SlotRow>(statement('wal/peek-changes'), [
        this.capture.slot,
        upto,
        count,
        this.capture.publication,
      ]);
      return rows;
    } catch (error) {
      if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error;
      throw new Error(
        `the listener's role may not read the replication slot ${this.capture.slot} of the "capture": "wal" watches: give it the REPLICATION attribute (ALTER ROLE … REPLICATION; RDS and Aurora: GRANT rds_replication TO …) (${(error as Error).message})`,
        { cause: error },
      );
    }
  }

  private async confirm(client: pg.ClientBase, lsn: string, readFrom: string, idsUsed: number): Promise<void> {
    await client.query(statement('wal/confirm'), [this.capture.slot, lsn, readFrom, idsUsed]);
    this.settled.clear();
  }

  /** The round's events: its changes' images converted by Postgres, then each watch's rules. */
  private async eventsOf(client: pg.ClientBase, changes: WalChange[]): Promise<WalEvent[]> {
    if (changes.length === 0) return [];
    let byTable = await this.watchesByTable(client, false);
    if (changes.some((change) => !byTable.has(change.relation.oid))) byTable = await this.watchesByTable(client, true);
    const watched = changes.filter((change) => byTable.has(change.relation.oid));
    const images = await convertImages(client, watched);
    return watched.flatMap((change, index) =>
      byTable.get(change.relation.oid)!.flatMap((watch) => eventsOf(change, images[index]!, watch)),
    );
  }

  private async watchesByTable(client: pg.ClientBase, fresh: boolean): Promise<Map<number, WalWatch[]>> {
    if (!fresh && this.watches && Date.now() - this.watches.loadedAt < WATCHES_TTL_MS) return this.watches.byTable;
    const { rows } = await client.query(statement('wal/watches'));
    const byTable = new Map<number, WalWatch[]>();
    for (const row of rows) {
      const definition = row.definition as { actions: Action[]; columns?: string[]; payload?: string[]; exclude?: string[] };
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
        keyColumns: row.key_columns,
      };
      byTable.set(watch.tableOid, [...(byTable.get(watch.tableOid) ?? []), watch]);
    }
    this.watches = { byTable, loadedAt: Date.now() };
    return byTable;
  }
}

/** Each change's new and old image as column → JSON text, one query per table. */
async function convertImages(client: pg.ClientBase, changes: WalChange[]): Promise<ChangeImages[]> {
  const images: ChangeImages[] = changes.map(() => ({}));
  const perTable = new Map<number, { image: string; apply: (values: RowValues) => void }[]>();
  changes.forEach((change, index) => {
    const list = perTable.get(change.relation.oid) ?? [];
    perTable.set(change.relation.oid, list);
    if (change.newRow)
      list.push({ image: imageJson(change.relation, change.newRow, change.oldRow), apply: (values) => (images[index]!.newRow = values) });
    if (change.oldRow) list.push({ image: imageJson(change.relation, change.oldRow), apply: (values) => (images[index]!.oldRow = values) });
  });
  for (const [oid, list] of perTable) {
    if (list.length === 0) continue;
    const { rows } = await client.query<{ image: string; column_name: string; value: string }>(statement('wal/column-values'), [
      oid,
      `[${list.map((entry) => entry.image).join(',')}]`,
    ]);
    const values = list.map(() => new Map<string, string>());
    for (const row of rows) values[Number(row.image) - 1]!.set(row.column_name, row.value);
    for (const [index, entry] of list.entries()) entry.apply(values[index]!);
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

/** Parameters $2-$5 of wal/record-published: the accepted events counted per table and label. */
function countsPerTable(events: OutboxEvent[]): [string[], string[], string[], number[]] {
  const counts = new Map<string, { schema: string; table: string; label: string; events: number }>();
  for (const event of events) {
    const label = event.label ?? '';
    const key = JSON.stringify([event.schema_name, event.table_name, label]);
    const entry = counts.get(key) ?? { schema: event.schema_name, table: event.table_name, label, events: 0 };
    entry.events++;
    counts.set(key, entry);
  }
  const entries = [...counts.values()];
  return [entries.map((e) => e.schema), entries.map((e) => e.table), entries.map((e) => e.label), entries.map((e) => e.events)];
}
