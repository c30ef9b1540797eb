import type { SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { install } from '../lib/capture/installer.ts';
import { parseConfig, type Watch } from '../lib/config/watch-config.ts';
import { AwsResources } from '../lib/local/aws-resources.ts';
import { EmbeddedPostgres } from '../lib/local/embedded-postgres.ts';
import { PRELOADED_ROWS } from './load/workloads.ts';
import { ConsumerQueue } from './measure/consumer-queue.ts';
import { buildListenerBundles, type ListenerBundles } from './processes/listener-bundles.ts';
import { NicedProcess } from './processes/niced-process.ts';

export const BENCH_CONFIG = { watches: [{ table: 'bench.items' }] };
export const BENCH_WATCHES: Watch[] = parseConfig(BENCH_CONFIG);

// Durability as shipped (fsync, synchronous_commit on); only checkpoints are pushed out of the
// measured windows (the benchmark runs CHECKPOINT between runs) so runs compare like with like.
const POSTGRES_SETTINGS = {
  shared_buffers: '512MB',
  max_wal_size: '8GB',
  checkpoint_timeout: '30min',
  max_connections: '200',
};

export interface BenchEnvironment {
  databaseUrl: string;
  endpoint: string;
  /** Where Postgres came from, for the report. */
  postgresVersion: string;
  admin: pg.Pool;
  bundles: ListenerBundles;
  resources: AwsResources;
  topics: { standard: string; fifo: string };
  queues: { standard: ConsumerQueue; fifo: ConsumerQueue; naive: ConsumerQueue };
  /** CPU seconds the emulator used so far; NaN when AWS_ENDPOINT_URL points elsewhere. */
  emulatorCpuSeconds(): number;
  stop(): Promise<void>;
}

// WAL records by kind, to tell full-page images apart (bench/measure/wal-written.ts). Optional:
// a server without it, or a role not allowed to create it, still gives total WAL bytes.
async function createWalInspect(admin: pg.Pool): Promise<void> {
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA bench').catch(() => undefined);
}

/** Postgres and the SNS/SQS endpoint: started here unless DATABASE_URL / AWS_ENDPOINT_URL say where. */
export async function startBenchEnvironment(
  env: NodeJS.ProcessEnv,
  { postgresSettings = {} }: { postgresSettings?: Record<string, string> } = {},
): Promise<BenchEnvironment> {
  let server: EmbeddedPostgres | undefined;
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    server = new EmbeddedPostgres({ settings: { ...POSTGRES_SETTINGS, ...postgresSettings } });
    await server.start();
    databaseUrl = server.connectionString;
  }
  let emulator: NicedProcess | undefined;
  let endpoint = env.AWS_ENDPOINT_URL;
  if (!endpoint) {
    emulator = new NicedProcess('emulator', ['--import', 'tsx', 'bench/processes/emulator-main.ts'], {});
    endpoint = JSON.parse(await emulator.waitForLine(/"endpoint"/)).endpoint as string;
  }

  const admin = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: 'bench-admin' });
  const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
  await admin.query(readFileSync(new URL('./bench-schema.sql', import.meta.url), 'utf8'));
  await admin.query(`INSERT INTO bench.items (sent_at, note) SELECT 0, 'preloaded' FROM generate_series(1, ${PRELOADED_ROWS})`);
  await admin.query('VACUUM ANALYZE bench.items');
  await createWalInspect(admin);
  const client = await admin.connect();
  try {
    await install(client, BENCH_WATCHES);
  } finally {
    client.release();
  }

  const resources = new AwsResources(endpoint);
  const suffix = Date.now().toString(36);
  const standard = await resources.createTopic(`bench-${suffix}`);
  const fifo = await resources.createTopic(`bench-${suffix}.fifo`);
  const sqs: SQSClient = resources.sqs;
  const queues = {
    standard: new ConsumerQueue(sqs, (await resources.subscribeQueue(standard, `bench-consumer-${suffix}`)).url),
    fifo: new ConsumerQueue(sqs, (await resources.subscribeQueue(fifo, `bench-consumer-${suffix}.fifo`)).url),
    naive: new ConsumerQueue(sqs, (await resources.createQueue(`bench-naive-${suffix}`)).url),
  };
  return {
    databaseUrl,
    endpoint,
    bundles: await buildListenerBundles(),
    postgresVersion: version,
    admin,
    resources,
    topics: { standard, fifo },
    queues,
    emulatorCpuSeconds: () => emulator?.cpuSeconds() ?? NaN,
    async stop() {
      resources.destroy();
      await admin.end();
      await emulator?.stop();
      await server?.destroy();
    },
  };
}
