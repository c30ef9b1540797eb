import { readFileSync } from 'node:fs';
import { install } from '../lib/capture/installer.ts';
import { statement } from '../lib/capture/sql-files.ts';
import { parseConfig } from '../lib/config/watch-config.ts';
import { BENCH_CONFIG, type BenchEnvironment } from './bench-environment.ts';
import type { ConsumerQueue } from './measure/consumer-queue.ts';
import { NicedProcess } from './processes/niced-process.ts';

export type VariantName =
  | 'none'
  | 'naive'
  | 'pgbridge-trigger'
  | 'pgbridge-trigger-statement'
  | 'pgbridge'
  | 'pgbridge-fifo'
  | 'pgbridge-killed-idle'
  | 'pgbridge-wal'
  | 'pgbridge-wal-draining';

export interface Variant {
  name: VariantName;
  title: string;
  capture: 'none' | 'naive' | 'pgbridge';
  listener?: 'naive' | 'standard' | 'fifo';
  /** The listener is SIGKILLed once asleep on LISTEN, before the writers start (issue 11). */
  killedWhileIdle?: boolean;
  /** Every watch with `capture: "statement"` (statement-level triggers) instead of the default per-row ones. */
  statementCapture?: boolean;
  /** Every watch with `capture: "wal"` (no trigger; the listener reads a replication slot). Needs wal_level = logical. */
  walCapture?: boolean;
}

/** The waiting flag as the writers' triggers find it: set, and whether a live session holds the waiting lock. */
export interface WaitingFlag {
  waiting: boolean;
  lockHeld: boolean;
}

export const VARIANTS: Record<VariantName, Variant> = {
  none: { name: 'none', title: 'none (no capture)', capture: 'none' },
  naive: { name: 'naive', title: 'naive (pg_notify per row)', capture: 'naive', listener: 'naive' },
  'pgbridge-trigger': { name: 'pgbridge-trigger', title: 'pgbridge, trigger only (listener paused)', capture: 'pgbridge' },
  'pgbridge-trigger-statement': {
    name: 'pgbridge-trigger-statement',
    title: 'pgbridge, trigger only, capture: statement',
    capture: 'pgbridge',
    statementCapture: true,
  },
  pgbridge: { name: 'pgbridge', title: 'pgbridge (standard topic)', capture: 'pgbridge', listener: 'standard' },
  'pgbridge-fifo': { name: 'pgbridge-fifo', title: 'pgbridge FIFO', capture: 'pgbridge', listener: 'fifo' },
  'pgbridge-killed-idle': {
    name: 'pgbridge-killed-idle',
    title: 'pgbridge, listener killed while idle',
    capture: 'pgbridge',
    listener: 'standard',
    killedWhileIdle: true,
  },
  'pgbridge-wal': { name: 'pgbridge-wal', title: 'pgbridge, capture: wal (listener paused)', capture: 'pgbridge', walCapture: true },
  'pgbridge-wal-draining': {
    name: 'pgbridge-wal-draining',
    title: 'pgbridge, capture: wal (standard topic)',
    capture: 'pgbridge',
    listener: 'standard',
    walCapture: true,
  },
};

/** A run with other watches than the bench table's, or with the listener's SNS calls going through a proxy. */
export interface VariantOverrides {
  config?: { watches: object[] };
  endpoint?: string;
}

const NAIVE_TRIGGER_SQL = readFileSync(new URL('./naive/naive-trigger.sql', import.meta.url), 'utf8');

/** A variant set up on the bench table, with its listener (if any) running under `nice`. */
export class RunningVariant {
  listener?: NicedProcess;
  /** The listener's Postgres backends (pgbridge drains on two connections by default). */
  listenerBackendPids: number[] = [];

  private constructor(
    readonly variant: Variant,
    private readonly env: BenchEnvironment,
    private readonly config: { watches: object[] },
    private readonly listenerEndpoint: string,
  ) {}

  static async start(variant: Variant, env: BenchEnvironment, overrides: VariantOverrides = {}): Promise<RunningVariant> {
    const config = overrides.config ?? BENCH_CONFIG;
    const capture = variant.statementCapture ? 'statement' : variant.walCapture ? 'wal' : undefined;
    const watches = capture ? config.watches.map((watch) => ({ ...watch, capture })) : config.watches;
    const running = new RunningVariant(variant, env, { ...config, watches }, overrides.endpoint ?? env.endpoint);
    await running.installCapture();
    // Events a previous variant left would keep the listener awake: it must find nothing to do.
    if (variant.killedWhileIdle) await env.admin.query('TRUNCATE pgbridge.outbox');
    await running.startListener();
    try {
      if (variant.killedWhileIdle) await running.killListenerWhileIdle();
    } catch (error) {
      // A listener left running would keep the leadership from the next variant's.
      await running.stop();
      throw error;
    }
    return running;
  }

  /** Where this variant's events end up, if they go anywhere. */
  get queue(): ConsumerQueue | undefined {
    const { queues } = this.env;
    return { naive: queues.naive, standard: queues.standard, fifo: queues.fifo, none: undefined }[this.variant.listener ?? 'none'];
  }

  /**
   * Between runs: no backlog of the previous run may keep the listener busy during the next.
   * The naive listener's backlog lives in its notification queue, so it is restarted; the
   * outbox is emptied; CHECKPOINT keeps the previous run's dirty pages out of the next window.
   */
  async reset(): Promise<void> {
    // The WAL watches' backlog is in their slot, which only one session reads at a time.
    const restart = this.variant.listener === 'naive' || (this.variant.walCapture && this.listener);
    if (restart) await this.stopListener();
    await this.env.admin.query('TRUNCATE pgbridge.outbox');
    if (this.variant.walCapture)
      await this.env.admin.query(
        'SELECT pg_replication_slot_advance(slot, pg_current_wal_lsn()) FROM pgbridge.wal_capture WHERE EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = slot)',
      );
    await this.queue?.purge();
    await this.env.admin.query('CHECKPOINT');
    if (restart) await this.startListener();
  }

  async stop(): Promise<void> {
    await this.stopListener();
  }

  /** What the writers' triggers see of the waiting flag right now. */
  async waitingFlag(): Promise<WaitingFlag> {
    const { rows } = await this.env.admin.query(statement('admin/status-waiting-flag'));
    return { waiting: rows[0].waiting, lockHeld: rows[0].lock_held };
  }

  /**
   * The crash of issue 11: once the listener sleeps on LISTEN (flag set, waiting lock held), it
   * is SIGKILLed, so it cannot clear its flag. Returns when Postgres has ended its sessions:
   * from then on the flag stays set with nobody holding the lock, until a listener starts again.
   */
  private async killListenerWhileIdle(): Promise<void> {
    const listener = this.listener!;
    // Generous: a listener under `nice -n 19` on a busy machine may take seconds to get there.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const flag = await this.waitingFlag();
      if (flag.waiting && flag.lockHeld) break;
      listener.assertRunning();
      if (Date.now() > deadline) throw new Error(`${listener.name} did not go to sleep with its waiting flag set within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await listener.kill();
    this.listener = undefined;
    const gone = Date.now() + 10_000;
    while ((await this.env.admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY ($1)', [this.listenerBackendPids])).rowCount) {
      if (Date.now() > gone)
        throw new Error(`the killed listener's sessions (${this.listenerBackendPids.join(', ')}) are still there after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.listenerBackendPids = [];
  }

  async stopListener(): Promise<void> {
    await this.listener?.stop();
    this.listener = undefined;
  }

  async startListener(): Promise<void> {
    const { env, variant } = this;
    if (!variant.listener) return;
    if (variant.listener === 'naive') {
      this.listener = new NicedProcess('naive listener', [env.bundles.naive], {
        DATABASE_URL: env.databaseUrl,
        AWS_ENDPOINT_URL: env.endpoint,
        NAIVE_QUEUE_URL: env.queues.naive.url,
      });
      await this.listener.waitForLine(/listening/);
      this.listenerBackendPids = await backendPids(env, ['naive-listener'], 1);
      return;
    }
    // BENCH_LISTENER_NODE_FLAGS: node flags for the pgbridge listener alone; by default the ones
    // the container runs it with (functions/listener/Dockerfile CMD).
    const flags = (process.env.BENCH_LISTENER_NODE_FLAGS ?? '--max-semi-space-size=8 --heap-growing-percent=100')
      .split(' ')
      .filter(Boolean);
    this.listener = new NicedProcess(`pgbridge listener (${variant.listener})`, [...flags, env.bundles.pgbridge], {
      PGBRIDGE_SQL_DIR: env.bundles.sqlDir,
      DATABASE_URL: env.databaseUrl,
      AWS_ENDPOINT_URL: this.listenerEndpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      PGBRIDGE_TOPIC_ARN: variant.listener === 'fifo' ? env.topics.fifo : env.topics.standard,
      PGBRIDGE_CONFIG_JSON: JSON.stringify(this.config),
      PGBRIDGE_LOG_LEVEL: 'info',
    });
    await this.listener.waitForLine(/"role":"leader"/);
    // Standard topics also drain on a second connection, opened right after leadership.
    this.listenerBackendPids = await backendPids(env, ['pgbridge-listener', 'pgbridge-drain'], variant.listener === 'fifo' ? 1 : 2);
  }

  private async installCapture(): Promise<void> {
    const client = await this.env.admin.connect();
    try {
      await client.query('DROP TRIGGER IF EXISTS naive_notify ON bench.items');
      await install(client, this.variant.capture === 'pgbridge' ? parseConfig(this.config) : []);
      if (this.variant.capture === 'naive') await client.query(NAIVE_TRIGGER_SQL);
      // No listener is waiting in the trigger-only runs: writers must not notify.
      await client.query('UPDATE pgbridge.listener_state SET waiting = false');
    } finally {
      client.release();
    }
  }
}

async function backendPids(env: BenchEnvironment, applicationNames: string[], expected: number): Promise<number[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const { rows } = await env.admin.query(`SELECT pid FROM pg_stat_activity WHERE split_part(application_name, ' ', 1) = ANY ($1)`, [
      applicationNames,
    ]);
    if (rows.length >= expected || Date.now() > deadline) return rows.map((row) => row.pid);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
