/**
 * The local story: `npm start`'s webhook consumer parks an order event in its dead-letter queue
 * while the receiver refuses it; after the fix, `pgbridge redrive OrderWebhook` delivers it.
 * Real Postgres, the listener, the emulator, the real handler, a real HTTP receiver.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { SQL_DIR } from '../../lib/capture/sql-files.ts';
import { generateWebhookSecret } from '../../lib/consumers/webhook-secret.ts';
import { startLocalReactions, type LocalReactions } from '../../lib/local/local-reactions.ts';
import { startLocalSes, type LocalSes } from '../../lib/local/local-ses.ts';
import { startLocalSnsSqs, type LocalSnsSqs } from '../../lib/local/local-sns-sqs.ts';
import { AwsResources } from '../../lib/local/aws-resources.ts';
import { WebhookReceiver } from '../../lib/local/webhook-receiver.ts';
import { runCli } from '../support/cli-process.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener, waitFor } from '../support/test-listener.ts';

const SECRET = generateWebhookSecret();
let db: TestDatabase;
let emulator: LocalSnsSqs;
let aws: AwsResources;
let ses: LocalSes;
let receiver: WebhookReceiver;
let reactions: LocalReactions;
let listener: Listener;
let receiverStatus = 410;

beforeAll(async () => {
  // The emulator of this file alone, as `npm start` has it: the consumers' queues keep their default names.
  [db, emulator, ses] = await Promise.all([startTestDatabase(), startLocalSnsSqs(), startLocalSes()]);
  aws = new AwsResources(emulator.endpoint);
  receiver = await new WebhookReceiver({ secret: SECRET, reply: () => ({ status: receiverStatus }) }).start();
  await db.query(readFileSync(join(SQL_DIR, 'demo', 'tables.sql'), 'utf8'));
  const topicArn = await aws.createTopic('pgbridge-demo');
  reactions = await startLocalReactions({
    aws,
    topicArn,
    sesEndpoint: ses.endpoint,
    webhookUrl: receiver.url,
    webhookSecret: SECRET,
    visibilityTimeoutSeconds: 1,
    logLevel: 'ERROR',
  });
  listener = await startTestListener({
    databaseUrl: db.url,
    endpoint: emulator.endpoint,
    topicArn,
    config: JSON.parse(readFileSync('pgbridge.config.json', 'utf8')),
  });
});

afterAll(async () => {
  await listener?.stop();
  await reactions?.stop();
  await receiver?.stop();
  aws?.destroy();
  await Promise.all([db?.stop(), emulator?.stop(), ses?.stop()]);
});

const pgbridge = (...args: string[]) =>
  runCli(args, { AWS_ENDPOINT_URL: emulator.endpoint, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });

async function messagesIn(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

describe('pgbridge redrive with the npm start consumers', () => {
  it('a webhook the receiver refused goes back to its consumer by name and is delivered after the fix', async () => {
    const { rows } = await db.query(`INSERT INTO orders (total) VALUES (77.70) RETURNING id`);
    await waitFor(() => receiver.received.length > 0, 15_000, 'the refused webhook');
    const webhook = reactions.consumers.find((consumer) => consumer.id === 'OrderWebhook')!;
    await waitFor(async () => (await messagesIn(webhook.deadLetterQueueUrl)) === 1, 15_000, 'the event in the dead-letter queue');

    const preview = await pgbridge('redrive', 'OrderWebhook', '--dry-run', '--sample', '1');
    const [summary, , sample] = preview.stdout.trim().split('\n');
    expect(summary).toBe(
      'dry run: 1 message(s) in pgbridge-demo-OrderWebhook-dlq would move to pgbridge-demo-OrderWebhook (receive, send, delete)',
    );
    const parked = JSON.parse(sample!);
    expect(JSON.parse(parked.body)).toMatchObject({ table: 'orders', action: 'insert', row: { id: Number(rows[0].id), total: 77.7 } });
    expect(parked.attributes.pgbridge_failure).toContain('410');

    receiverStatus = 204;
    const redriven = await pgbridge('redrive', 'OrderWebhook');

    expect(redriven).toMatchObject({
      code: 0,
      stdout: 'moved 1 message(s) from pgbridge-demo-OrderWebhook-dlq to pgbridge-demo-OrderWebhook (receive, send, delete)\n',
    });
    await waitFor(() => receiver.received.length === 2, 15_000, 'the redriven webhook');
    const [refused, delivered] = receiver.received;
    expect(delivered!.signature).toEqual({ valid: true });
    expect(delivered!.body).toBe(refused!.body);
    expect(delivered!.headers['webhook-id']).toBe(JSON.parse(parked.body).id);
    expect(await messagesIn(webhook.deadLetterQueueUrl)).toBe(0);
  });
});
