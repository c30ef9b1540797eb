/**
 * The whole path: a row changes in Postgres → the listener publishes it → SNS filters it into
 * each consumer's queue → the real handler (run by the local Lambda event-source runner) sends
 * an email through SES or a signed webhook. Runs against the npm emulators, or against LocalStack
 * with `npm run test:localstack` (AWS_ENDPOINT_URL).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { SQL_DIR } from '../../lib/capture/sql-files.ts';
import { generateWebhookSecret } from '../../lib/consumers/webhook-secret.ts';
import type { ChangeEvent } from '../../lib/message/change-event.ts';
import { sentEmails, startLocalSes, type LocalSes } from '../../lib/local/local-ses.ts';
import { startLocalReactions, type LocalReactions } from '../../lib/local/local-reactions.ts';
import { WebhookReceiver } from '../../lib/local/webhook-receiver.ts';
import { e2eSkipReason } from '../support/e2e-target.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener, waitFor } from '../support/test-listener.ts';

const skipReason = await e2eSkipReason();
if (skipReason) console.warn(`test/e2e skipped: ${skipReason}`);

const SECRET = generateWebhookSecret();
const TEAM = `team-${randomBytes(3).toString('hex')}@example.com`;
let db: TestDatabase;
let aws: TestAws;
let ses: LocalSes | undefined;
let sesEndpoint: string;
let receiver: WebhookReceiver;
let reactions: LocalReactions;
let listener: Listener;
/** Status the webhook receiver answers for orders with this total; 204 otherwise. */
const statusForTotal = new Map<number, number[]>();

beforeAll(async () => {
  if (skipReason) return;
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  if (process.env.AWS_ENDPOINT_URL) {
    sesEndpoint = process.env.AWS_ENDPOINT_URL;
  } else {
    ses = await startLocalSes();
    sesEndpoint = ses.endpoint;
  }
  receiver = await new WebhookReceiver({
    secret: SECRET,
    reply: (request) => {
      const statuses = statusForTotal.get(JSON.parse(request.body).row?.total);
      return { status: statuses?.shift() ?? (request.signature.valid ? 204 : 401) };
    },
  }).start();
  await db.query(readFileSync(join(SQL_DIR, 'demo', 'tables.sql'), 'utf8'));
  const topicArn = await aws.resources.createTopic(aws.name('e2e'));
  reactions = await startLocalReactions({
    aws: aws.resources,
    topicArn,
    sesEndpoint,
    teamEmail: TEAM,
    webhookUrl: receiver.url,
    webhookSecret: SECRET,
    prefix: aws.name('e2e'),
    maxReceiveCount: 2,
    visibilityTimeoutSeconds: 1,
    retryBackoff: { firstDelaySeconds: 1, maxDelaySeconds: 1 },
    logLevel: 'ERROR',
  });
  listener = await startTestListener({
    databaseUrl: db.url,
    endpoint: aws.endpoint,
    topicArn,
    config: JSON.parse(readFileSync('pgbridge.config.json', 'utf8')),
  });
});

afterAll(async () => {
  await listener?.stop();
  await reactions?.stop();
  await receiver?.stop();
  await ses?.stop();
  await Promise.all([db?.stop(), aws?.stop()]);
});

async function emails(subject: RegExp) {
  return (await sentEmails(sesEndpoint)).filter((email) => email.to.includes(TEAM) && subject.test(email.subject));
}

function webhooksFor(table: string) {
  return receiver.received.filter((request) => JSON.parse(request.body).table === table);
}

describe.skipIf(Boolean(skipReason))('reactions end to end', () => {
  it('a sign-up sends the signup email, and only that', async () => {
    await db.query(`INSERT INTO users (name, email) VALUES ('Grace', 'grace@example.com')`);
    await waitFor(async () => (await emails(/Grace/)).length > 0, 15_000, 'the signup email');
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const received = await emails(/Grace/);
    expect(received.map((email) => email.subject)).toEqual(['New signup: Grace']);
    expect(received[0]!.text).toContain('Grace <grace@example.com> signed up on the free plan');
    expect(received[0]!.html).toContain('&lt;grace@example.com&gt;');
    expect(webhooksFor('users')).toHaveLength(0);
  });

  it('an order change arrives as a Standard Webhooks request, verified by the standardwebhooks library, without the excluded card token', async () => {
    const { rows } = await db.query(`INSERT INTO orders (total, card_token) VALUES (19.99, 'tok_secret') RETURNING id`);
    await waitFor(() => webhooksFor('orders').length > 0, 15_000, 'the order webhook');

    const [request] = webhooksFor('orders');
    expect(request!.signature).toEqual({ valid: true });
    const event = new Webhook(SECRET).verify(request!.body, request!.headers as Record<string, string>) as ChangeEvent;
    expect(event).toMatchObject({ table: 'orders', action: 'insert', row: { id: Number(rows[0].id), total: 19.99, status: 'new' } });
    expect(event.row).not.toHaveProperty('card_token');
    expect(request!.headers['webhook-id']).toBe(event.id);
    expect(await emails(/./)).toHaveLength(1);
  });

  it('a change no consumer filters for reaches neither the emails nor the webhook', async () => {
    const emailsBefore = (await emails(/./)).length;
    const webhooksBefore = receiver.received.length;
    // Published (the plan_changed watch fires), but for the plan email only; a name change is not watched at all.
    await db.query(`UPDATE users SET name = 'Grace Hopper' WHERE email = 'grace@example.com'`);
    await db.query(`UPDATE users SET plan = 'pro' WHERE email = 'grace@example.com'`);
    await waitFor(async () => (await emails(/Plan change/)).length > 0, 15_000, 'the plan change email');
    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect((await emails(/./)).length - emailsBefore).toBe(1);
    expect((await emails(/Plan change/))[0]!.subject).toBe('Plan change: Grace Hopper is now on pro');
    expect(receiver.received.length - webhooksBefore).toBe(0);
  });

  it('a webhook answered 503 is retried after its backoff; one answered 400 ends in the dead-letter queue', async () => {
    statusForTotal.set(5.01, [503]);
    statusForTotal.set(5.02, [400]);
    await db.query(`INSERT INTO orders (total) VALUES (5.01), (5.02)`);
    await waitFor(
      () => webhooksFor('orders').filter((request) => JSON.parse(request.body).row.total === 5.01).length >= 2,
      20_000,
      'the retried webhook',
    );

    const attempts = (total: number) => webhooksFor('orders').filter((request) => JSON.parse(request.body).row.total === total).length;
    const webhook = reactions.consumers.find((consumer) => consumer.id === 'OrderWebhook')!;
    const parked = await receiveMessages(aws, webhook.deadLetterQueueUrl, { count: 1, timeoutMs: 10_000 });
    expect(parked.map((message) => message.event.row.total)).toEqual([5.02]);
    expect(parked[0]!.attributes.pgbridge_failure).toContain('400');
    expect(attempts(5.01)).toBe(2);
    expect(attempts(5.02)).toBe(1);
  });
});
