import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import pg from 'pg';
import { install } from '../../lib/capture/installer.ts';
import { assertSchemaCompatible } from '../../lib/capture/schema-compatibility.ts';
import { statement } from '../../lib/capture/sql-files.ts';
import type { Watch } from '../../lib/config/watch-config.ts';
import { InstallError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Sink } from '../../lib/sinks/sink.ts';
import { ListenerMetrics, type MetricsSnapshot } from './listener-metrics.ts';
import { drainOnce, type DrainOptions, type DrainResult } from './outbox-drainer.ts';
import { RetryBook } from './retry-book.ts';
import { WalDrainer } from './wal-drainer.ts';
import { WalStreamError } from './wal-stream.ts';
import { Wakeup } from './wakeup.ts';

export interface ListenerOptions extends DrainOptions {
  /** node-postgres connection settings (a connection string, or PG* environment variables). */
  connection: pg.ClientConfig;
  sink: Sink;
  /** Watches to install on start; omit to use what is installed (`--no-install`). */
  watches?: Watch[];
  /** With `watches`: days to keep published events for `pgbridge replay`; null or omitted keeps none. */
  retentionDays?: number | null;
  /** Drain even without a notification this often. */
  pollIntervalMs: number;
  /** How often a standby tries to become the leader. */
  leaderRetryMs: number;
  /** Longest wait between reconnection attempts and between retries of a down sink. */
  maxBackoffMs: number;
  /** Each event's first retry delay; doubles per attempt up to `maxBackoffMs`. */
  retryBaseMs: number;
  /** How often installed watches are checked for dropped or renamed tables. */
  watchCheckIntervalMs: number;
  /** How often the leader logs its metrics (EMF); 0 turns them off. */
  metricsIntervalMs?: number;
  /** The `Bridge` dimension of the metrics, to tell several bridges in one account apart. */
  bridgeName?: string;
  /** Connections draining at once on a standard (non-FIFO) sink. @default 2 */
  drainConnections?: number;
  /**
   * Keep retrying an install the database refuses (a watched table not created yet) instead of
   * failing: for deployments where the listener may start before the application's migrations.
   */
  retryInstall?: boolean;
  log: Logger;
}

export type ListenerRole = 'starting' | 'installing' | 'standby' | 'leader' | 'disconnected' | 'stopped';

export interface ListenerEvents {
  role: [ListenerRole];
  drained: [DrainResult];
  /** The leader logged its metrics line (every `metricsIntervalMs`). */
  metrics: [MetricsSnapshot];
  /** A round failed (connection lost, database restarted, ...); the listener reconnects. */
  failure: [Error];
}

// Short server-side keepalives: if the leader's host vanishes, Postgres closes its session
// within about 25 s and frees the leader lock for the standby. The timeouts keep a stuck
// listener from holding row locks forever.
const SESSION_OPTIONS = [
  'tcp_keepalives_idle=10',
  'tcp_keepalives_interval=5',
  'tcp_keepalives_count=3',
  // Longer than the slowest legitimate round (two attempts of a 10 s AWS call, several in a row
  // per lane), short enough to free the rows of a listener that hangs for good.
  'idle_in_transaction_session_timeout=300000',
  'statement_timeout=60000',
]
  .map((setting) => `-c ${setting}`)
  .join(' ');

/** How long to wait for writers that might have missed the "listener is waiting" flag. */
const SETTLE_LIMIT_MS = 250;

/** Partitions of retained events are created three days ahead: hourly upkeep has ample slack. */
const PUBLISHED_UPKEEP_INTERVAL_MS = 3_600_000;

/** How often the leader deletes published counts older than `status` needs. */
const PRUNE_COUNTS_INTERVAL_MS = 60_000;

/**
 * This process as `pgbridge status` and pg_stat_activity show it: "pid@host". Carried in each
 * session's application_name, which Postgres shows to every role (client_addr only to
 * privileged ones); Postgres cuts it to 63 bytes.
 */
const LISTENER_PROCESS = `${process.pid}@${hostname()}`;

/**
 * The always-on process: one leader (advisory lock) drains the outbox; any other instance is a
 * hot standby that takes over when the leader's session ends. Survives database restarts and
 * network drops by reconnecting with backoff.
 */
export class Listener extends EventEmitter<ListenerEvents> {
  role: ListenerRole = 'starting';
  private stopping = false;
  private client?: pg.Client;
  /** Cut short by NOTIFY, a lost connection or stop: the idle wait. */
  private readonly wakeup = new Wakeup();
  /** Cut short only by stop: backoffs, which connection events must not shorten. */
  private readonly stopRequested = new Wakeup();
  private readonly retries: RetryBook;
  /** The WAL watches' own backoffs: their ids never come back from the outbox fetch. */
  private readonly walRetries: RetryBook;
  /** Set while WAL watches are installed. */
  private walDrainer?: WalDrainer;
  /** Every installed watch is a WAL watch: no trigger reads the waiting flag. */
  private walOnly = false;
  /** When to try the WAL watches' stream again after a problem with it. */
  private walRetryAt?: number;
  private walRetryDelay = 0;
  private readonly metrics: ListenerMetrics;
  private loop?: Promise<void>;
  private installed = false;
  /** This session holds the waiting lock (sql/wake/take-waiting-lock.sql), so its flag counts. */
  private holdsWaitingLock = false;
  private lastWatchCheck = 0;
  private lastMetrics = 0;
  private lastPublishedUpkeep = 0;
  private lastCountsPrune = 0;
  /** When the leader last finished a drain round or went to sleep with nothing to do. */
  private lastProgress = Date.now();

  constructor(private readonly options: ListenerOptions) {
    super();
    this.retries = new RetryBook({ baseDelayMs: options.retryBaseMs, maxDelayMs: options.maxBackoffMs });
    this.walRetries = new RetryBook({ baseDelayMs: options.retryBaseMs, maxDelayMs: options.maxBackoffMs });
    this.metrics = new ListenerMetrics(options.bridgeName ?? 'pgbridge');
  }

  /** Starts the loop. Rejects only if installing the watches fails (fix the config). */
  async start(): Promise<void> {
    const firstConnection = new Promise<void>((resolve, reject) => {
      this.loop = this.run(resolve, reject);
    });
    await firstConnection;
  }

  /** Finishes the drain round in flight, releases leadership and closes the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeup.wake();
    this.stopRequested.wake();
    await this.loop;
  }

  /**
   * What the health endpoint reports. A leader whose drain round has not finished for much
   * longer than any backoff or timeout allows is stuck (a hung call, a lost session that did
   * not error): unhealthy, so the orchestrator replaces it and the standby takes over.
   */
  health(): { healthy: boolean; role: ListenerRole; stalled: boolean } {
    // A round may take up to the session's idle-in-transaction limit while AWS is slow.
    const stallLimitMs = this.options.maxBackoffMs + this.options.pollIntervalMs + 300_000;
    const stalled = this.role === 'leader' && Date.now() - this.lastProgress > stallLimitMs;
    const healthy = !stalled && (this.role === 'leader' || this.role === 'standby' || this.role === 'installing');
    return { healthy, role: this.role, stalled };
  }

  private setRole(role: ListenerRole): void {
    if (role === 'leader') this.lastProgress = Date.now();
    if (this.role === role) return;
    this.role = role;
    this.options.log.info({ msg: 'role', role });
    this.emit('role', role);
  }

  private async run(started: () => void, failed: (error: Error) => void): Promise<void> {
    const { log } = this.options;
    let reconnectDelay = 250;
    while (!this.stopping) {
      try {
        await this.connect();
        if (!this.installed && this.options.watches) {
          await install(this.client!, this.options.watches, { retentionDays: this.options.retentionDays });
          log.info({ msg: 'watches installed', watches: this.options.watches.map((watch) => watch.name) });
        }
        this.installed = true;
        await this.assertInstalled();
        // Only a fully working start resets the backoff: a database that accepts connections
        // but refuses the install must not be retried four times a second.
        reconnectDelay = 250;
        started();
        await this.becomeLeader();
        if (!this.stopping) await this.drainUntilStopped();
      } catch (error) {
        if (error instanceof InstallError && !this.options.retryInstall) {
          // After a successful start (a reconnect meeting a schema upgraded meanwhile) nobody
          // awaits `failed` any more: only the log tells why the listener stops.
          if (this.role !== 'starting') log.fatal({ msg: `${error.message}; the listener stops` });
          failed(error);
          break;
        }
        if (error instanceof InstallError) {
          log.error({ msg: `${error.message}; retrying`, retryInMs: reconnectDelay });
          this.setRole('installing');
          started();
        } else if (!this.stopping) {
          log.error({ msg: 'listener failed, reconnecting', error: describe(error), retryInMs: reconnectDelay });
          this.setRole('disconnected');
          this.emit('failure', error as Error);
        }
      }
      await this.disconnect();
      if (!this.stopping) {
        await this.stopRequested.wait(reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, this.options.maxBackoffMs);
      }
    }
    await this.disconnect();
    this.setRole('stopped');
  }

  private clientConfig(): pg.ClientConfig {
    return {
      application_name: `pgbridge-listener ${LISTENER_PROCESS}`,
      keepAlive: true,
      options: SESSION_OPTIONS,
      connectionTimeoutMillis: 10_000,
      query_timeout: 90_000,
      ...this.options.connection,
    };
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.clientConfig());
    // A connection that dies while idle only reports through 'error'; wake the loop so the
    // next query fails fast and the reconnect starts.
    client.on('error', () => this.wakeup.wake());
    client.on('end', () => this.wakeup.wake());
    client.on('notification', () => this.wakeup.wake());
    this.client = client;
    await client.connect();
  }

  private async disconnect(): Promise<void> {
    await this.stopWalDrainer();
    const client = this.client;
    this.client = undefined;
    this.holdsWaitingLock = false;
    if (!client) return;
    await client.end().catch(() => undefined);
  }

  private async assertInstalled(): Promise<void> {
    const { rows } = await this.client!.query(statement('admin/schema-exists'));
    if (!rows[0].installed) {
      throw new Error(
        'pgbridge is not installed in this database (no pgbridge.outbox): run `pgbridge install`, or start without --no-install',
      );
    }
    const version = await assertSchemaCompatible(this.client!);
    if (version.installed > version.known)
      this.options.log.info({ msg: 'schema is newer than this listener, and compatible with it', ...version });
    const { rows: tables } = await this.client!.query(statement('admin/listener-tables-exist'));
    if (!tables[0].present) {
      throw new Error(
        'the pgbridge schema in this database is older than this listener (no pgbridge.published_count): run `pgbridge install` of this version, or start without --no-install',
      );
    }
  }

  private async becomeLeader(): Promise<void> {
    while (!this.stopping) {
      const { rows } = await this.client!.query(statement('admin/try-leader-lock'));
      if (rows[0].acquired) {
        await this.client!.query(statement('admin/record-leadership'), [LISTENER_PROCESS]);
        this.setRole('leader');
        return;
      }
      this.setRole('standby');
      await this.stopRequested.wait(this.options.leaderRetryMs);
    }
  }

  private async drainUntilStopped(): Promise<void> {
    const client = this.client!;
    const { log } = this.options;
    await client.query(statement('wake/listen'));
    const { rowCount } = await client.query(statement('wake/stop-waiting'));
    if (rowCount) log.warn({ msg: 'cleared the waiting flag of a listener that died while asleep', staleWaitingFlag: true });
    await this.refreshWal(client);
    // Standard sinks: extra connections drain beside this one (SKIP LOCKED keeps their rounds
    // disjoint), so one round's fetch, delete and commit overlap another's publishes. FIFO keeps
    // one round at a time: its per-row order holds within a single drainer only.
    const helpers = this.options.sink.fifo ? [] : await this.openDrainConnections((this.options.drainConnections ?? 2) - 1);
    try {
      await this.drainLoop(client, helpers);
    } finally {
      await Promise.all(helpers.map((helper) => helper.end().catch(() => undefined)));
    }
  }

  /**
   * The replication connection of the WAL watches' stream: no statement or query timeout (its
   * START_REPLICATION lasts as long as the session); Postgres' wal_sender_timeout and the
   * keepalives end it when the other side is gone.
   */
  private replicationConfig(): pg.ClientConfig {
    return {
      application_name: `pgbridge-wal ${LISTENER_PROCESS}`,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      ...this.options.connection,
    };
  }

  /**
   * Sets up (or drops) the WAL watches' stream as the installed watches say. A problem there
   * (wal_level changed, the slot gone, no REPLICATION attribute, a lost stream) is logged and
   * retried with backoff while the outbox goes on draining: trigger watches must not stop for
   * the WAL watches' sake.
   */
  private async refreshWal(client: pg.Client): Promise<void> {
    try {
      this.walDrainer = await this.walCapture(client);
      this.walRetryDelay = 0;
      this.walRetryAt = undefined;
    } catch (error) {
      if (!(error instanceof WalSetupError)) throw error;
      this.scheduleWalRetry(error);
    }
  }

  private scheduleWalRetry(error: Error): void {
    this.walRetryDelay = Math.min(Math.max(this.walRetryDelay * 2, 1000), this.options.maxBackoffMs);
    this.walRetryAt = Date.now() + this.walRetryDelay;
    this.options.log.error({ msg: `"capture": "wal" watches are not being read: ${error.message}`, retryInMs: this.walRetryDelay });
  }

  private async stopWalDrainer(): Promise<void> {
    const drainer = this.walDrainer;
    this.walDrainer = undefined;
    await drainer?.stop();
  }

  /** The drainer of the WAL watches, if any are installed; fails clearly when their slot cannot be read. */
  private async walCapture(client: pg.Client): Promise<WalDrainer | undefined> {
    const { rows: schema } = await client.query(statement('wal/has-capture'));
    if (!schema[0].present) return undefined;
    const { rows: watches } = await client.query(statement('wal/watches'));
    const { rows: counts } = await client.query(statement('admin/watch-count'));
    this.walOnly = watches.length > 0 && watches.length === counts[0].watches;
    if (watches.length === 0) {
      const hadStream = this.walDrainer !== undefined;
      await this.stopWalDrainer();
      // The install that removed the last WAL watch could not drop the slot while this listener
      // streamed it: without a reader it would keep WAL forever.
      if (hadStream)
        await client
          .query(statement('wal/drop-unused-slot'))
          .catch((error: Error) =>
            this.options.log.warn({ msg: 'could not drop the replication slot no WAL watch uses any more', error: describe(error) }),
          );
      return undefined;
    }
    const { rows } = await client.query(statement('wal/capture-state'));
    const state = rows[0];
    if (state.wal_level !== 'logical')
      throw new WalSetupError(
        `"capture": "wal" watches are installed but this server runs wal_level = ${state.wal_level}: set wal_level = logical and restart Postgres (RDS and Aurora: rds.logical_replication = 1)`,
      );
    if (!state.slot_exists)
      throw new WalSetupError(
        `"capture": "wal" watches are installed but their replication slot ${state.slot} is missing: run \`pgbridge install\` as a role with the REPLICATION attribute (RDS and Aurora: rds_replication)`,
      );
    if (this.walDrainer?.capture.slot === state.slot) return this.walDrainer;
    await this.stopWalDrainer();
    this.options.log.info({
      msg: 'streaming WAL watches from the replication slot',
      slot: state.slot,
      watches: watches.map((watch) => watch.name),
    });
    return new WalDrainer(state, this.walRetries, this.replicationConfig(), state.confirmed_at, () => this.wakeup.wake());
  }

  /** WAL rounds back to back until one is not full; added into `total`. */
  private async drainWal(client: pg.Client, total: DrainResult): Promise<void> {
    const drainer = this.walDrainer;
    if (!drainer) return;
    for (;;) {
      let result: DrainResult;
      try {
        result = await drainer.drainOnce(client, this.options.sink, this.options, this.options.log);
      } catch (error) {
        if (!(error instanceof WalStreamError)) throw error;
        await this.stopWalDrainer();
        this.scheduleWalRetry(error);
        return;
      }
      this.lastProgress = Date.now();
      if (result.fetched > 0) {
        this.metrics.recordRound(result);
        this.emit('drained', result);
      }
      addRound(total, result);
      if (this.stopping || result.sinkDown || !drainer.ready || result.published + result.parked === 0) return;
    }
  }

  private async openDrainConnections(count: number): Promise<pg.Client[]> {
    const opened: pg.Client[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const helper = new pg.Client({ ...this.clientConfig(), application_name: `pgbridge-drain ${LISTENER_PROCESS}` });
        helper.on('error', () => this.wakeup.wake());
        opened.push(helper);
        await helper.connect();
      }
      return opened;
    } catch (error) {
      await Promise.all(opened.map((helper) => helper.end().catch(() => undefined)));
      throw error;
    }
  }

  /**
   * Each connection drains rounds back to back until one finds nothing (so under steady load
   * both keep working, not just the one that happened to get full rounds); the results are
   * added up. All connections finish before an error is passed on, so none keeps
   * draining in the background while the listener reconnects.
   */
  private async drainBurst(connections: pg.Client[]): Promise<DrainResult> {
    const { sink, log } = this.options;
    const options = { ...this.options, maxInFlight: Math.max(1, Math.ceil(this.options.maxInFlight / connections.length)) };
    const total: DrainResult = { fetched: 0, published: 0, parked: 0, retrying: 0, held: 0, failed: 0, sinkDown: false };
    // One connection failing ends the burst for all: the main one holds leadership, and a
    // helper must not go on draining once it is lost.
    let aborted = false;
    const outcomes = await Promise.allSettled(
      connections.map(async (connection) => {
        for (;;) {
          let result: DrainResult;
          try {
            result = await drainOnce(connection, sink, this.retries, options, log);
          } catch (error) {
            aborted = true;
            throw error;
          }
          this.lastProgress = Date.now();
          this.metrics.recordRound(result);
          this.emit('drained', result);
          addRound(total, result);
          if (this.stopping || aborted || result.sinkDown || result.fetched === 0 || result.published + result.parked === 0) return;
        }
      }),
    );
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
    // A connection that saw every call fail kept no per-event backoff (it took the sink for
    // down), so the whole listener backs off, even if the other connection got through.
    return total;
  }

  private async drainLoop(client: pg.Client, helpers: pg.Client[]): Promise<void> {
    const { log } = this.options;
    let sinkDelay = 0;
    while (!this.stopping) {
      await this.checkWatchesIfDue();
      await this.reportMetricsIfDue();
      await this.keepPublishedPartitionsIfDue();
      await this.pruneCountsIfDue();
      if (this.walRetryAt !== undefined && Date.now() >= this.walRetryAt) await this.refreshWal(client);
      const result = await this.drainBurst([client, ...helpers]);
      if (!result.sinkDown) await this.drainWal(client, result);
      if (result.sinkDown) {
        sinkDelay = Math.min(Math.max(sinkDelay * 2, this.options.retryBaseMs), this.options.maxBackoffMs);
        log.warn({
          msg: 'sink unreachable, events stay in the outbox',
          sink: this.options.sink.description,
          error: result.sinkError,
          retryInMs: sinkDelay,
        });
        await this.stopRequested.wait(sinkDelay);
        continue;
      }
      sinkDelay = 0;
      if (result.published > 0 || result.parked > 0) log.debug({ msg: 'drained', ...result });
      // A full round that moved events: more are probably waiting. A round that only found
      // events in backoff is idle time, spent asleep until the next one is due.
      if (result.fetched >= this.options.batchSize && result.published + result.parked > 0) continue;
      // Only triggers read the waiting flag: with WAL watches alone, setting it would be a write
      // per poll for nobody (the poll finds backfilled and resent outbox events too).
      if (!this.walOnly && (await this.hasWorkAfterSettingWaitFlag())) {
        await client.query(statement('wake/stop-waiting'));
        continue;
      }
      this.lastProgress = Date.now();
      const nextRetry = this.retries.nextDueAt();
      // WAL watches: their stream wakes the loop at each commit; a failed round waits out its backoff.
      if (this.walDrainer?.ready) continue;
      const walDue = Math.min(
        this.walDrainer && this.walDrainer.dueAt > Date.now() ? this.walDrainer.dueAt : Infinity,
        this.walRetryAt ?? Infinity,
      );
      const sleepMs = Math.min(
        this.options.pollIntervalMs,
        nextRetry ? Math.max(1, nextRetry - Date.now()) : Infinity,
        Math.max(1, walDue - Date.now()),
      );
      await this.wakeup.wait(sleepMs);
      if (this.stopping) break;
      await client.query(statement('wake/stop-waiting'));
    }
    // Leaving: writers must stop paying for notifications nobody receives.
    await client.query(statement('wake/stop-waiting')).catch(() => undefined);
  }

  /**
   * Sets the flag that makes triggers notify, then looks again: an event committed before the
   * flag was visible would otherwise wait for the next poll. Transactions already running when
   * the flag was set may still commit events without notifying, so wait (briefly: a long
   * transaction is left to the poll timer) until they have ended, looking after each check.
   */
  private async hasWorkAfterSettingWaitFlag(): Promise<boolean> {
    const client = this.client!;
    if (!this.holdsWaitingLock) {
      const { rows: lock } = await client.query(statement('wake/take-waiting-lock'));
      this.holdsWaitingLock = lock[0].acquired;
    }
    // Without the lock the flag would not count: sleep until the poll timer instead.
    if (!this.holdsWaitingLock) return false;
    await client.query(statement('wake/start-waiting'));
    const { rows } = await client.query(statement('wake/writers-in-flight'));
    const writers: string[] = rows[0].xids;
    const deadline = Date.now() + SETTLE_LIMIT_MS;
    let pause = 1;
    for (;;) {
      // Writers first, events second (two statements, two snapshots): a writer that commits in
      // between is then either still listed or its event is already visible.
      const running = await client.query(statement('wake/writers-still-running'), [writers]);
      const pending = await client.query(statement('wake/has-events'), [this.retries.waitingIds()]);
      if (pending.rows[0].has_events) return true;
      if (!running.rows[0].running || Date.now() > deadline || this.stopping) return false;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 20);
    }
  }

  private async reportMetricsIfDue(): Promise<void> {
    const interval = this.options.metricsIntervalMs ?? 0;
    if (interval <= 0 || Date.now() - this.lastMetrics < interval) return;
    this.lastMetrics = Date.now();
    this.emit('metrics', await this.metrics.report(this.client!, this.options.log));
  }

  /** Creates the coming days' partitions of retained events and drops expired ones. */
  private async keepPublishedPartitionsIfDue(): Promise<void> {
    if (Date.now() - this.lastPublishedUpkeep < PUBLISHED_UPKEEP_INTERVAL_MS) return;
    this.lastPublishedUpkeep = Date.now();
    try {
      await this.client!.query(statement('admin/maintain-published'));
    } catch (error) {
      // A lock timeout (a long replay reading the partitions) must not stop the drain: the
      // partitions exist days ahead, the next upkeep tries again.
      if ((error as { code?: string }).code !== '55P03') throw error;
      this.options.log.warn({ msg: 'retained events upkeep postponed, a partition was busy', error: describe(error) });
    }
  }

  private async pruneCountsIfDue(): Promise<void> {
    if (Date.now() - this.lastCountsPrune < PRUNE_COUNTS_INTERVAL_MS) return;
    this.lastCountsPrune = Date.now();
    await this.client!.query(statement('drain/prune-published-counts'));
  }

  private async checkWatchesIfDue(): Promise<void> {
    if (Date.now() - this.lastWatchCheck < this.options.watchCheckIntervalMs) return;
    this.lastWatchCheck = Date.now();
    // WAL watches installed (or removed) by a `pgbridge install` elsewhere since this leader started.
    await this.refreshWal(this.client!);
    const { rows } = await this.client!.query(statement('admin/watch-health'));
    for (const row of rows) {
      this.options.log.error({
        msg: row.dropped
          ? `watch "${row.name}": table ${row.schema_name}.${row.table_name} was dropped; its events stopped. Fix the config and re-install`
          : `watch "${row.name}": table ${row.schema_name}.${row.table_name} was renamed to ${row.now_named}; events still carry the old name. Fix the config and re-install`,
        watch: row.name,
      });
    }
  }
}

/** Adds a round's figures into a burst's. */
function addRound(total: DrainResult, result: DrainResult): void {
  total.fetched += result.fetched;
  total.published += result.published;
  total.parked += result.parked;
  total.retrying += result.retrying;
  total.held += result.held;
  total.failed += result.failed;
  if (result.sinkDown) {
    total.sinkDown = true;
    total.sinkError ??= result.sinkError;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The WAL watches cannot be read (server setting, slot): the outbox drain goes on. */
class WalSetupError extends Error {}
