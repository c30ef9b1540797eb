import { readFileSync } from 'node:fs';
import { install } from '../lib/capture/installer.ts';
import { parseConfig } from '../lib/config/watch-config.ts';
import { BENCH_CONFIG, type BenchEnvironment } from './bench-environment.ts';
import type { ConsumerQueue } from './measure/consumer-queue.ts';
import { NicedProcess } from './processes/niced-process.ts';

export type VariantName = 'none' | 'naive' | 'pgbridge-trigger' | 'pgbridge' | 'pgbridge-fifo';

export interface Variant {
  name: VariantName;
  title: string;
  capture: 'none' | 'naive' | 'pgbridge';
  listener?: 'naive' | 'standard' | 'fifo';
}

export const VARIANTS: Record<VariantName, Variant> = {
  none: { name: 'none', title: 'none (no capture)', capture: 'none' },
  naive: { name: 'naive', title: 'naive (pg_notify per row)', capture: 'naive', listener: 'naive' },
  'pgbridge-trigger': { name: 'pgbridge-trigger', title: 'pgbridge, trigger only (listener paused)', capture: 'pgbridge' },
  pgbridge: { name: 'pgbridge', title: 'pgbridge (standard topic)', capture: 'pgbridge', listener: 'standard' },
  'pgbridge-fifo': { name: 'pgbridge-fifo', title: 'pgbridge FIFO', capture: 'pgbridge', listener: 'fifo' },
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
  /** The listener's own Postgres backend: its CPU is part of the drain's cost. */
  /** The listener's Postgres backends (pgbridge drains on two connections by default). */
  listenerBackendPids: number[] = [];

  private constructor(
    readonly variant: Variant,
    private readonly env: BenchEnvironment,
    private readonly config: { watches: object[] },
    private readonly listenerEndpoint: string,
  ) {}

  static async start(variant: Variant, env: BenchEnvironment, overrides: VariantOverrides = {}): Promise<RunningVariant> {
    const running = new RunningVariant(variant, env, overrides.config ?? BENCH_CONFIG, overrides.endpoint ?? env.endpoint);
    await running.installCapture();
    await running.startListener();
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
    if (this.variant.listener === 'naive') await this.stopListener();
    await this.env.admin.query('TRUNCATE pgbridge.outbox');
    await this.queue?.purge();
    await this.env.admin.query('CHECKPOINT');
    if (this.variant.listener === 'naive') await this.startListener();
  }

  async stop(): Promise<void> {
    await this.stopListener();
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
