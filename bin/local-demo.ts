/**
 * `npm start`: the whole flow on one machine. Embedded Postgres (unless DATABASE_URL), the SNS/SQS
 * emulator (unless AWS_ENDPOINT_URL), the demo tables and watches, the listener, a printout of
 * every message that reaches a queue subscribed to the topic, and the demo reactions: the email
 * and webhook consumers run by a local Lambda event-source runner, emails to the SES emulator,
 * webhooks to a local receiver (or PGBRIDGE_WEBHOOK_URL); both are printed as they arrive.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startListener } from '../functions/listener/main.ts';
import { SQL_DIR } from '../lib/capture/sql-files.ts';
import { createLogger } from '../lib/logger.ts';
import { AwsResources } from '../lib/local/aws-resources.ts';
import { demoWebhookFromEnvironment } from '../lib/local/demo-webhook.ts';
import { EmbeddedPostgres } from '../lib/local/embedded-postgres.ts';
import { startOnPreferredPort } from '../lib/local/preferred-port.ts';
import { canEnter, postgresSystemUser } from '../lib/local/postgres-system-user.ts';
import { startLocalSnsSqs } from '../lib/local/local-sns-sqs.ts';
import { sentEmails, startLocalSes } from '../lib/local/local-ses.ts';
import { LiveSummary } from '../lib/local/live-summary.ts';
import { startLocalReactions } from '../lib/local/local-reactions.ts';
import { WebhookReceiver } from '../lib/local/webhook-receiver.ts';

const DEMO_PG_PORT = 54329;
const DEMO_AWS_PORT = 4566;
const DEMO_SES_PORT = 8005;
const DEMO_WEBHOOK_PORT = 4590;
const TEAM_EMAIL = 'team@example.com';
const exitAfter = Number(process.env.PGBRIDGE_DEMO_EXIT_AFTER ?? 0);
const log = createLogger('pgbridge-listener', { level: process.env.PGBRIDGE_LOG_LEVEL ?? 'warn' });
const cleanups: Array<() => Promise<unknown>> = [];
/** Ctrl-C (SIGINT), SIGTERM, a closed terminal (SIGHUP) and PGBRIDGE_DEMO_EXIT_AFTER all stop the demo the same way. */
const stopRequest = new AbortController();
/** The status line at the bottom, once the reactions run; output goes above it through `say`. */
let summary: LiveSummary | undefined;
const say = (text: string) => (summary ? summary.log(text) : console.log(text));

async function startDatabase(): Promise<{ url: string; dataDir?: string }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL };
  // In its own session the terminal's Ctrl-C does not reach the server: it would end our
  // connections under us (57P01) before the listener has stopped. We stop it last, in order.
  // The fixed port keeps the printed psql command the same from run to run; when another process
  // holds it, even one that binds it while the server starts, any free port does.
  const server = new EmbeddedPostgres({ dataDir: demoDataDir(), port: DEMO_PG_PORT, anyPortIfTaken: true, ownSession: true });
  await server.start();
  cleanups.push(() => server.stop('fast'));
  return { url: server.connectionString, dataDir: server.dataDir };
}

async function startAws(): Promise<string> {
  if (process.env.AWS_ENDPOINT_URL) return process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const emulator = await startOnPreferredPort(DEMO_AWS_PORT, startLocalSnsSqs);
  cleanups.push(() => emulator.stop());
  return emulator.endpoint;
}

/** SES for the email consumers: LocalStack's when AWS_ENDPOINT_URL is set, else the npm emulator. */
async function startSes(): Promise<string> {
  if (process.env.AWS_ENDPOINT_URL) return process.env.AWS_ENDPOINT_URL;
  const ses = await startOnPreferredPort(DEMO_SES_PORT, startLocalSes);
  cleanups.push(() => ses.stop());
  return ses.endpoint;
}

/**
 * `.pgbridge/postgres` in the working directory. As root, Postgres runs as the `postgres` user,
 * which cannot enter a checkout under a private home (/root is mode 700): the data then lives
 * in the temporary directory, one per checkout, still kept between runs.
 */
function demoDataDir(): string {
  const local = join(process.cwd(), '.pgbridge', 'postgres');
  if (process.getuid?.() !== 0 || canEnter(process.cwd(), postgresSystemUser())) return local;
  return join(tmpdir(), `pgbridge-demo-${createHash('sha256').update(process.cwd()).digest('hex').slice(0, 12)}`, 'postgres');
}

/** The demo's own receiver, which checks every signature and prints every request. */
async function startWebhookReceiver(secret: string): Promise<string> {
  const receiver = await startOnPreferredPort(DEMO_WEBHOOK_PORT, (port) => new WebhookReceiver({ secret, port }).start());
  cleanups.unshift(() => receiver.stop());
  receiver.on('webhook', (webhook) => {
    const event = JSON.parse(webhook.body);
    const signature = webhook.signature.valid ? 'signature ok' : `signature INVALID (${webhook.signature.reason})`;
    say(`webhook  POST ${receiver.url}  ${signature}  event ${event.id}: ${event.table} ${event.action}\n         ${webhook.body}`);
  });
  return receiver.url;
}

/** Runs every cleanup, latest started first, and reports (rather than hides) the ones that fail. */
async function stopEverything(): Promise<void> {
  for (const cleanup of cleanups) {
    await cleanup().catch((error) => console.error(`pgbridge: while stopping: ${error instanceof Error ? error.message : String(error)}`));
  }
}

async function main(): Promise<void> {
  // Before anything starts, so that a Ctrl-C during start-up also stops what has started.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stopRequest.abort());
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const webhook = demoWebhookFromEnvironment(process.env);
  const [database, endpoint] = await Promise.all([startDatabase(), startAws()]);
  const databaseUrl = database.url;

  const db = new pg.Client({ connectionString: databaseUrl });
  // A server restarted under the demo ends this connection; say so instead of crashing.
  db.on('error', (error) => console.error(`pgbridge: the demo's connection to Postgres ended: ${error.message}`));
  await db.connect();
  cleanups.unshift(() => db.end());
  await db.query(readFileSync(join(SQL_DIR, 'demo', 'tables.sql'), 'utf8'));

  const aws = new AwsResources(endpoint);
  cleanups.unshift(async () => aws.destroy());
  const topicArn = process.env.PGBRIDGE_TOPIC_ARN ?? (await aws.createTopic('pgbridge-demo'));
  const printed = await aws.subscribeQueue(topicArn, 'pgbridge-demo-printout');
  // Rows over 256 KiB go to the emulator's S3, as they would to the PgBridge's bucket in AWS.
  const payloadBucket = process.env.PGBRIDGE_PAYLOAD_BUCKET ?? (await aws.createBucket('pgbridge-demo-payloads'));

  const sesEndpoint = await startSes();
  const webhookUrl = webhook.url ?? (await startWebhookReceiver(webhook.secrets[0]!));
  const reactions = await startLocalReactions({
    aws,
    topicArn,
    sesEndpoint,
    teamEmail: TEAM_EMAIL,
    webhookUrl,
    webhookSecret: webhook.secrets.join(' '),
  });
  cleanups.unshift(() => reactions.stop());
  for (const consumer of reactions.consumers) {
    consumer.runner.on('batch', ({ failed }) => {
      if (failed.length)
        say(
          `retry    ${consumer.id}: ${failed.length} record(s) failed; they come back after a backoff, then go to ${consumer.deadLetterQueueUrl}`,
        );
    });
    consumer.runner.on('failure', (error) => say(`error    ${consumer.id}: ${error.message}`));
  }
  const emailsShown = { count: (await sentEmails(sesEndpoint).catch(() => [])).length };
  const emailPrinter = setInterval(async () => {
    const emails = await sentEmails(sesEndpoint).catch(() => []);
    for (const email of emails.slice(emailsShown.count)) {
      say(`email    to ${email.to.join(', ')}  "${email.subject}"\n         ${email.text ?? ''}`);
    }
    emailsShown.count = Math.max(emailsShown.count, emails.length);
  }, 1000);
  cleanups.unshift(async () => clearInterval(emailPrinter));

  const configPath = process.env.PGBRIDGE_CONFIG ?? (existsSync('pgbridge.config.json') ? 'pgbridge.config.json' : undefined);
  const listener = await startListener({
    configPath,
    install: true,
    // Metrics every second feed the status line (their EMF lines are logged at info, below the demo's level).
    env: {
      PGBRIDGE_METRICS_INTERVAL_MS: '1000',
      ...process.env,
      DATABASE_URL: databaseUrl,
      AWS_ENDPOINT_URL: endpoint,
      PGBRIDGE_TOPIC_ARN: topicArn,
      PGBRIDGE_PAYLOAD_BUCKET: payloadBucket,
    },
    log,
  });
  cleanups.unshift(() => listener.stop());
  const liveSummary = new LiveSummary({ out: process.stdout, sqs: aws.sqs, consumers: reactions.consumers });
  listener.on('drained', (round) => liveSummary.recordPublished(round.published));
  listener.on('metrics', (metrics) => liveSummary.recordBacklog(metrics.backlog));
  cleanups.unshift(async () => liveSummary.stop());

  const psqlUrl = databaseUrl.replace(/:[^:@/]+@/, ':***@');
  // The demo database is kept between runs and emails are unique: a fresh address each run.
  const graceEmail = `grace+${Date.now()}@example.com`;
  console.log(`
pgbridge is running.
  Postgres   ${psqlUrl}${database.dataDir ? `   (data in ${database.dataDir})` : ''}
  SNS/SQS    ${endpoint}   topic ${topicArn}
  S3         ${endpoint}   bucket ${payloadBucket} (rows too large for a message)
  Watches    ${configPath ?? 'PGBRIDGE_CONFIG_JSON'}
  Reactions  ${reactions.consumers.map((consumer) => consumer.id).join(', ')} (lib/demo/demo-reactions.ts)
  SES        ${sesEndpoint}   (emails to ${TEAM_EMAIL}; open it in a browser to read them)
  Webhooks   ${webhookUrl}   (${webhook.url ? 'PGBRIDGE_WEBHOOK_URL' : 'a local receiver that checks every signature; PGBRIDGE_WEBHOOK_URL sends them to yours'})
             Standard Webhooks, signed with ${webhook.generated ? `${webhook.secrets[0]} (made up for this run; set PGBRIDGE_WEBHOOK_SECRET to choose it)` : 'PGBRIDGE_WEBHOOK_SECRET'}

Change a row from another terminal and watch the messages, emails and webhooks arrive here:
  psql "${psqlUrl}" -c "INSERT INTO users (name, email) VALUES ('Grace', '${graceEmail}')"
  psql "${psqlUrl}" -c "UPDATE users SET plan = 'pro' WHERE email = '${graceEmail}'"
  psql "${psqlUrl}" -c "INSERT INTO orders (total) VALUES (42.50)"
Ctrl-C stops everything (the demo database is kept for the next run).
`);
  summary = liveSummary;
  liveSummary.start();

  // Rows of our own so that a first email and webhook show up without typing anything.
  const demoEmail = `ada+${Date.now()}@example.com`;
  const { rows } = await db.query(`INSERT INTO users (name, email) VALUES ('Ada', $1) RETURNING id`, [demoEmail]);
  await db.query(`INSERT INTO orders (user_id, total, card_token) VALUES ($1, 9.99, 'tok_demo')`, [rows[0].id]);

  let shown = 0;
  const stopped = stopRequest.signal;
  while (!stopped.aborted) {
    const { Messages = [] } = await aws.sqs
      .send(
        new ReceiveMessageCommand({ QueueUrl: printed.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
        {
          abortSignal: stopped,
        },
      )
      .catch((error) => {
        if (stopped.aborted) return { Messages: undefined };
        throw error;
      });
    for (const message of Messages) {
      const attributes = Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
      );
      say(`message  ${JSON.stringify(attributes)}\n         ${message.Body}`);
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
    if (exitAfter > 0 && shown >= exitAfter) stopRequest.abort();
  }
  await stopEverything();
  console.log('\npgbridge stopped. Bye!');
  process.exit(0);
}

main().catch(async (error) => {
  console.error(`pgbridge: ${error instanceof Error ? error.message : String(error)}`);
  await stopEverything();
  process.exit(1);
});
