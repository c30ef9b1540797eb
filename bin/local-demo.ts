/**
 * `npm start`: the whole flow on one machine. Embedded Postgres (unless DATABASE_URL), the SNS/SQS
 * emulator (unless AWS_ENDPOINT_URL), the demo tables and watches, the listener, and a printout
 * of every message that reaches a queue subscribed to the topic.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startListener } from '../functions/listener/main.ts';
import { SQL_DIR } from '../lib/capture/sql-files.ts';
import { createLogger } from '../lib/logger.ts';
import { AwsResources } from '../lib/local/aws-resources.ts';
import { EmbeddedPostgres } from '../lib/local/embedded-postgres.ts';
import { startLocalSnsSqs } from '../lib/local/local-sns-sqs.ts';

const DEMO_PG_PORT = 54329;
const DEMO_AWS_PORT = 4566;
const exitAfter = Number(process.env.PGBRIDGE_DEMO_EXIT_AFTER ?? 0);
const log = createLogger('pgbridge-listener', { level: process.env.PGBRIDGE_LOG_LEVEL ?? 'warn' });
const cleanups: Array<() => Promise<unknown>> = [];

async function startDatabase(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const server = new EmbeddedPostgres({ dataDir: join(process.cwd(), '.pgbridge', 'postgres'), port: await portOr(DEMO_PG_PORT) });
  await server.start();
  cleanups.push(() => server.stop('fast'));
  return server.connectionString;
}

async function startAws(): Promise<string> {
  if (process.env.AWS_ENDPOINT_URL) return process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const emulator = await startLocalSnsSqs(await portOr(DEMO_AWS_PORT));
  cleanups.push(() => emulator.stop());
  return emulator.endpoint;
}

/** The fixed port when it is free (so the printed psql command stays the same), else any. */
async function portOr(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(preferred)));
  });
}

async function main(): Promise<void> {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [databaseUrl, endpoint] = await Promise.all([startDatabase(), startAws()]);

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  cleanups.unshift(() => db.end());
  await db.query(readFileSync(join(SQL_DIR, 'demo', 'tables.sql'), 'utf8'));

  const aws = new AwsResources(endpoint);
  cleanups.unshift(async () => aws.destroy());
  const topicArn = process.env.PGBRIDGE_TOPIC_ARN ?? (await aws.createTopic('pgbridge-demo'));
  const printed = await aws.subscribeQueue(topicArn, 'pgbridge-demo-printout');

  const configPath = process.env.PGBRIDGE_CONFIG ?? (existsSync('pgbridge.config.json') ? 'pgbridge.config.json' : undefined);
  const listener = await startListener({
    configPath,
    install: true,
    env: { ...process.env, DATABASE_URL: databaseUrl, AWS_ENDPOINT_URL: endpoint, PGBRIDGE_TOPIC_ARN: topicArn },
    log,
  });
  cleanups.unshift(() => listener.stop());

  const psqlUrl = databaseUrl.replace(/:[^:@/]+@/, ':***@');
  console.log(`
pgbridge is running.
  Postgres   ${psqlUrl}
  SNS/SQS    ${endpoint}   topic ${topicArn}
  Watches    ${configPath ?? 'PGBRIDGE_CONFIG_JSON'}

Change a row from another terminal and watch the messages arrive here:
  psql "${psqlUrl}" -c "INSERT INTO users (name, email) VALUES ('Grace', 'grace@example.com')"
  psql "${psqlUrl}" -c "UPDATE users SET plan = 'pro' WHERE email = 'grace@example.com'"
Ctrl-C stops everything (the demo database is kept in .pgbridge/).
`);

  // One row of our own so a first message shows up without typing anything.
  const demoEmail = `ada+${Date.now()}@example.com`;
  await db.query(`INSERT INTO users (name, email) VALUES ('Ada', $1)`, [demoEmail]);

  let shown = 0;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  while (!stopping) {
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: printed.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
    );
    for (const message of Messages) {
      const attributes = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]));
      console.log(`message  ${JSON.stringify(attributes)}\n         ${message.Body}`);
      shown++;
    }
    if (Messages.length > 0) {
      await aws.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: printed.url,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
    if (exitAfter > 0 && shown >= exitAfter) await stop();
  }
}

main().catch(async (error) => {
  console.error(`pgbridge: ${error instanceof Error ? error.message : String(error)}`);
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  process.exit(1);
});
