import type pg from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';
import { lsnText, parseLsn } from '../../lib/wal/pgoutput-messages.ts';
import type { SlotRow } from '../../lib/wal/wal-changes.ts';

/** A committed transaction's pgoutput messages, begin to commit, as the slot streamed them. */
export interface StreamedTransaction {
  messages: SlotRow[];
  /** End of its commit record: what the slot is confirmed to once it is published. */
  commitEnd: string;
  /** Row changes in it (the messages minus begin, relations and commit). */
  changes: number;
}

const INSUFFICIENT_PRIVILEGE = '42501';
const STATUS_INTERVAL_MS = 10_000;

/** The replication stream broke: the listener starts a new one after a backoff, from the slot's confirmed position. */
export class WalStreamError extends Error {}

/** Transactions held in memory before the stream is paused (the server then keeps them in the slot). */
const MAX_QUEUED_CHANGES = 50_000;

/**
 * The capture slot as a stream: one replication connection (`replication=database`) runs
 * START_REPLICATION with pgoutput, and Postgres pushes each committed transaction as it
 * commits, decoded once. A drain round takes transactions from the head of the queue and,
 * once AWS accepted their events, `confirm`s them: only then does the server learn (standby
 * status update) that the slot may let go of them. Nothing is confirmed on receipt, so a crash
 * before `confirm` streams the same transactions again.
 *
 * The protocol (connection, copy-both, keepalives, status updates) is pg-logical-replication's;
 * its pgoutput parser is not used, since it converts values with node-postgres' type parsers
 * (json parsed into JavaScript numbers, timestamps into Dates): pgbridge keeps Postgres' own text
 * and converts it in Postgres (lib/wal/).
 */
export class WalStream {
  private readonly service: LogicalReplicationService;
  private readonly queue: StreamedTransaction[] = [];
  private open?: StreamedTransaction;
  private queuedChanges = 0;
  private failure?: Error;
  private paused = false;
  /** Position the slot was last confirmed to (by us, or where it stood when the stream started). */
  private confirmedTo: string;
  private stopped = false;
  private readonly statusTimer: NodeJS.Timeout;

  private constructor(
    connection: pg.ClientConfig,
    private readonly slot: string,
    private readonly publication: string,
    startAt: string,
    private readonly onCommit: () => void,
  ) {
    this.confirmedTo = startAt;
    this.service = new LogicalReplicationService(connection, {
      // Never on receipt, and no timer confirming what was received: only `confirm` does.
      acknowledge: { auto: false, timeoutSeconds: 0 },
      // Messages are handled as they arrive, in order with the keepalives (the library's own flow
      // control would queue data but not keepalives): the queue below pauses the socket itself.
      flowControl: { enabled: false },
    });
    this.service.on('data', (lsn: string, data: Buffer) => this.receive(lsn, data));
    this.service.on('heartbeat', (walEnd: string, _timestamp: number, shouldRespond: boolean) => this.heartbeat(walEnd, shouldRespond));
    this.service.on('error', (error: Error) => this.fail(error));
    // A status update every 10 s whatever happens: while the socket is paused (a full queue) or a
    // round takes long (a sink outage), keepalives go unanswered, and without a reply within
    // wal_sender_timeout (60 s by default) the server would end the stream.
    this.statusTimer = setInterval(() => this.report(this.confirmedTo), STATUS_INTERVAL_MS);
    this.statusTimer.unref();
  }

  /** Starts streaming from the slot's confirmed position. */
  static start(
    connection: pg.ClientConfig,
    capture: { slot: string; publication: string },
    confirmedAt: string,
    onCommit: () => void,
  ): WalStream {
    const stream = new WalStream(connection, capture.slot, capture.publication, confirmedAt, onCommit);
    const plugin = {
      options: {},
      name: 'pgoutput',
      // The buffer is a view of the connection's read buffer: copied before it is kept.
      parse: (buffer: Buffer) => Buffer.from(buffer),
      start: (client: pg.Client, slot: string) =>
        client.query(
          `START_REPLICATION SLOT ${client.escapeIdentifier(slot)} LOGICAL 0/0 (proto_version '1', publication_names ${client.escapeLiteral(
            client.escapeIdentifier(stream.publication),
          )})`,
        ),
    };
    stream.service.subscribe(plugin, stream.slot).then(
      () => stream.fail(new Error(`the replication stream of slot ${stream.slot} ended`)),
      (error: Error) => stream.fail(error),
    );
    return stream;
  }

  /** The position a round reads from: where the slot was last confirmed to. */
  get readFrom(): string {
    return this.confirmedTo;
  }

  /** Throws what broke the stream (connection lost, slot in use, no REPLICATION attribute). */
  assertHealthy(): void {
    if (this.failure) throw new WalStreamError(this.failure.message, { cause: this.failure });
  }

  /** Committed transactions from the head of the queue, whole, until `changes` row changes are reached. */
  head(changes: number): StreamedTransaction[] {
    const taken: StreamedTransaction[] = [];
    let count = 0;
    for (const transaction of this.queue) {
      if (taken.length > 0 && count + transaction.changes > changes) break;
      taken.push(transaction);
      count += transaction.changes;
    }
    return taken;
  }

  /** The first `count` transactions of the queue are published: the slot may let go of them. */
  confirm(count: number): string {
    const done = this.queue.splice(0, count);
    for (const transaction of done) this.queuedChanges -= transaction.changes;
    const last = done.at(-1);
    if (last) this.acknowledge(last.commitEnd);
    if (this.queuedChanges < MAX_QUEUED_CHANGES / 2) this.resume();
    return this.confirmedTo;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.statusTimer);
    this.resume();
    await this.service.stop().catch(() => undefined);
  }

  /**
   * Tells the server that everything before `lsn` is done. pg-logical-replication reports one
   * byte past the position it is given (physical replication's "last byte received"); for
   * logical decoding that would be wrong by one: Postgres skips, when the stream starts again, a
   * transaction whose commit record starts before the confirmed position, and with concurrent
   * writers the next commit record often starts exactly where this one ends. So it is given
   * the byte before.
   */
  private acknowledge(lsn: string): void {
    this.report(lsn);
    this.confirmedTo = lsn;
  }

  private report(lsn: string): void {
    const position = parseLsn(lsn);
    if (position === 0n) return;
    void this.service.acknowledge(lsnText(position - 1n)).catch((error: Error) => this.fail(error));
  }

  private receive(lsn: string, data: Buffer): void {
    const tag = String.fromCharCode(data[0]!);
    if (tag === 'B') this.open = { messages: [], commitEnd: lsn, changes: 0 };
    if (!this.open) return;
    this.open.messages.push({ lsn, data });
    if (tag === 'I' || tag === 'U' || tag === 'D' || tag === 'T') this.open.changes++;
    if (tag !== 'C') return;
    // The commit message's position is the end of the commit record.
    this.open.commitEnd = lsn;
    this.queue.push(this.open);
    this.queuedChanges += this.open.changes;
    this.open = undefined;
    this.onCommit();
    // Backpressure: the server keeps what is not read yet in the slot.
    if (this.queuedChanges >= MAX_QUEUED_CHANGES) this.socket()?.pause();
    this.paused ||= this.queuedChanges >= MAX_QUEUED_CHANGES;
  }

  /** The replication connection's socket: pg-logical-replication pauses it the same way for its own flow control. */
  private socket(): { pause(): void; resume(): void } | undefined {
    return (this.service as unknown as { _connection?: { stream?: { pause(): void; resume(): void } } })._connection?.stream;
  }

  /**
   * The server's keepalive carries its end of WAL. With nothing received and unconfirmed, and no
   * transaction open, everything before it has been streamed and published: confirming it lets
   * the slot step over the WAL of unwatched tables instead of keeping it. Answered when asked
   * (before wal_sender_timeout ends the connection) and at least then.
   */
  private heartbeat(walEnd: string, shouldRespond: boolean): void {
    if (this.queue.length === 0 && !this.open && parseLsn(walEnd) > parseLsn(this.confirmedTo)) {
      this.acknowledge(walEnd);
      return;
    }
    if (shouldRespond) this.report(this.confirmedTo);
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket()?.resume();
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.failure ??=
      (error as { code?: string }).code === INSUFFICIENT_PRIVILEGE
        ? new Error(
            `the listener's role may not stream the replication slot ${this.slot} of the "capture": "wal" watches: give it the REPLICATION attribute (ALTER ROLE … REPLICATION; RDS and Aurora: GRANT rds_replication TO …) (${error.message})`,
            { cause: error },
          )
        : error;
    this.onCommit();
  }
}
