import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { DEFAULT_CHUNK, runBackfill } from '../lib/backfill/backfill-runner.ts';
import { install } from '../lib/capture/installer.ts';
import { parseConfig } from '../lib/config/watch-config.ts';
import { buildFilterPolicy } from '../lib/consumers/filter-policy.ts';
import { AwsResources } from '../lib/local/aws-resources.ts';
import { EmbeddedPostgres } from '../lib/local/embedded-postgres.ts';
import { summariseDelays } from './measure/percentiles.ts';
import { NicedProcess } from './processes/niced-process.ts';

// `npx tsx bench/backfill-live-delay.ts [--rows N] [--chunk N]`: how late live events arrive
// while a backfill runs. A writer inserts 100 rows a second into a watched table throughout;
// each message's delay is its arrival at a consumer queue minus the writer's clock in the row.
// Delays of rows written before the backfill (baseline) and while it runs are reported apart.
// Postgres, the emulator and the listener run as in the benchmark (the latter two niced).

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};
const ROWS = argument('rows', 100_000);
const CHUNK = argument('chunk', DEFAULT_CHUNK);
const BASELINE_MS = 10_000;
const WRITE_INTERVAL_MS = 10;

const server = new EmbeddedPostgres({ settings: { shared_buffers: '512MB', max_wal_size: '8GB' } });
await server.start();
const children: NicedProcess[] = [];
// A failed run must not leave Postgres and the emulator behind.
process.on('uncaughtException', (error) => {
  console.error(error);
  void Promise.all(children.map((child) => child.stop())).finally(() => server.destroy().finally(() => process.exit(1)));
});
const databaseUrl = server.connectionString;
const emulator = new NicedProcess('emulator', ['--import', 'tsx', 'bench/processes/emulator-main.ts'], {});
children.push(emulator);
const endpoint = JSON.parse(await emulator.waitForLine(/"endpoint"/)).endpoint as string;
const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
const watches = parseConfig({ watches: [{ table: 'accounts' }, { table: 'live_writes' }] });
await db.query(`
  CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, plan text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  INSERT INTO accounts (id, email, plan) SELECT n, 'user' || n || '@example.com', 'free' FROM generate_series(1, ${ROWS}) AS n;
  CREATE TABLE live_writes (id bigserial PRIMARY KEY, sent_at double precision NOT NULL);
`);
await db.query('VACUUM ANALYZE accounts');
const client = await db.connect();
await install(client, watches);
client.release();

const aws = new AwsResources(endpoint);
const topicArn = await aws.createTopic('backfill-delay');
const subscribe = async (name: string, filter: Parameters<typeof buildFilterPolicy>[0]) => {
  const { policy, scope } = buildFilterPolicy(filter, name);
  return (await aws.subscribeQueue(topicArn, name, policy, scope)).url;
};
const liveQueue = await subscribe('live', { table: 'live_writes' });
const backfillQueue = await subscribe('backfilled', { table: 'accounts', action: 'read' });
const listener = new NicedProcess('listener', ['--import', 'tsx', 'bin/pgbridge.ts', 'listen', '--no-install'], {
  DATABASE_URL: databaseUrl,
  PGBRIDGE_TOPIC_ARN: topicArn,
  AWS_ENDPOINT_URL: endpoint,
  // The emulator takes any credentials; AWS or LocalStack runs bring their own.
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
});
children.push(listener);
await listener.waitForLine(/"role":"leader"/, 120_000);

let writing = true;
const writer = (async () => {
  while (writing) {
    await db.query(`INSERT INTO live_writes (sent_at) VALUES ($1)`, [Date.now()]);
    await new Promise((resolve) => setTimeout(resolve, WRITE_INTERVAL_MS));
  }
})();
const delays: Array<{ sentAt: number; delay: number }> = [];
let receiving = true;
const receivers = [0, 1].map(async () => {
  while (receiving) {
    for (const body of await receive(aws.sqs, liveQueue)) {
      const sentAt = Number(/"sent_at":(\d+(?:\.\d+)?)/.exec(body)![1]);
      delays.push({ sentAt, delay: Date.now() - sentAt });
    }
  }
});
// Backfilled messages are taken off their queue too, as a consumer would.
const backfillReceiver = (async () => {
  while (receiving) await receive(aws.sqs, backfillQueue);
})();

await new Promise((resolve) => setTimeout(resolve, BASELINE_MS));
const backfillStart = Date.now();
const backfillClient = new pg.Client({ connectionString: databaseUrl });
await backfillClient.connect();
const quiet = { started() {}, progressed() {}, waiting() {}, finished() {} };
await runBackfill(backfillClient, { table: 'accounts', chunk: CHUNK }, quiet);
const backfillEnd = Date.now();
await backfillClient.end();
await new Promise((resolve) => setTimeout(resolve, 3000));
writing = false;
await writer;
await new Promise((resolve) => setTimeout(resolve, 2000));
receiving = false;
await Promise.all([...receivers, backfillReceiver]);

const during = delays.filter((entry) => entry.sentAt >= backfillStart && entry.sentAt <= backfillEnd).map((entry) => entry.delay);
const before = delays.filter((entry) => entry.sentAt < backfillStart).map((entry) => entry.delay);
const seconds = (backfillEnd - backfillStart) / 1000;
console.log(`backfill of ${ROWS} rows in chunks of ${CHUNK}: ${seconds.toFixed(1)} s (${Math.round(ROWS / seconds)} rows/s)`);
for (const [phase, values] of [
  ['before the backfill', before],
  ['during the backfill', during],
] as const) {
  const summary = summariseDelays(values);
  console.log(`live events ${phase}: ${summary.count} events, p50 ${summary.p50} ms, p99 ${summary.p99} ms, max ${summary.max} ms`);
}

await listener.stop();
await emulator.stop();
aws.destroy();
await db.end();
await server.destroy();

async function receive(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  if (Messages.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return Messages.map((message) => message.Body!);
}
