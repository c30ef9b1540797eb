import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebhookConsumer, type WebhookConsumerSettings } from '../../lib/consumers/webhook-consumer.ts';
import { signWebhook, verifyWebhook } from '../../lib/consumers/webhook-signature.ts';
import { isPrivateAddress } from '../../lib/consumers/webhook-target.ts';
import { WebhookReceiver, type WebhookReply } from '../../lib/local/webhook-receiver.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { changeEvent, sqsEvent } from '../support/sqs-event.ts';

const SECRET = 'whsec_test_3f9a1c';
let aws: TestAws;
let receiver: WebhookReceiver;
let deadLetterQueueUrl: string;
/** What the receiver answers next, per event id; 204 when not set. */
const replies = new Map<string, WebhookReply>();

beforeAll(async () => {
  aws = await startTestAws();
  deadLetterQueueUrl = (await aws.resources.createQueue(aws.name('webhook-dlq'))).url;
  receiver = await new WebhookReceiver({
    secret: SECRET,
    reply: (request) => replies.get(request.headers['pgbridge-event-id'] as string) ?? { status: request.signature.valid ? 204 : 401 },
  }).start();
});

afterAll(async () => {
  await receiver?.stop();
  await aws?.stop();
});

function consumer(settings: Partial<WebhookConsumerSettings> = {}) {
  return createWebhookConsumer(
    { url: receiver.url, secret: async () => SECRET, timeoutMs: 1000, allowPrivateTargets: true, ...settings },
    { sqs: aws.resources.sqs, deadLetterQueueUrl, logger: new Logger({ logLevel: 'ERROR' }) },
  );
}

function requestsFor(eventId: string) {
  return receiver.received.filter((request) => request.headers['pgbridge-event-id'] === eventId);
}

describe('webhook consumer', () => {
  it('POSTs the event body, signed so the receiver can verify it, with the event id for idempotency', async () => {
    const event = changeEvent({ table: 'orders', row: { id: 7, total: 12.5 } });
    const input = sqsEvent([event]);
    const response = await consumer({ headers: { 'x-api-key': 'k-123' } })(input);

    expect(response.batchItemFailures).toEqual([]);
    const [request] = requestsFor(event.id);
    expect(request!.body).toBe(input.Records[0]!.body);
    expect(JSON.parse(request!.body)).toEqual(event);
    expect(request!.signature).toMatchObject({ valid: true });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-api-key']).toBe('k-123');
    expect(verifyWebhook('another secret', request!.body, request!.headers['pgbridge-signature'] as string)).toMatchObject({ valid: false });
  });

  it('a signature does not verify for a changed body or an old timestamp', () => {
    const body = JSON.stringify(changeEvent());
    const header = signWebhook(SECRET, body);
    expect(verifyWebhook(SECRET, body, header).valid).toBe(true);
    expect(verifyWebhook(SECRET, body.replace('Ada', 'Eve'), header)).toEqual({ valid: false, reason: 'signature mismatch' });
    const old = signWebhook(SECRET, body, Math.floor(Date.now() / 1000) - 3600);
    expect(verifyWebhook(SECRET, body, old)).toMatchObject({ valid: false, reason: expect.stringContaining('tolerance') });
  });

  it('408, 429, 5xx and timeouts are retried: only those records are reported as failed', async () => {
    const ok = changeEvent();
    const retried = [changeEvent(), changeEvent(), changeEvent(), changeEvent()];
    replies.set(retried[0]!.id, { status: 408 });
    replies.set(retried[1]!.id, { status: 429 });
    replies.set(retried[2]!.id, { status: 503 });
    replies.set(retried[3]!.id, { status: 204, delayMs: 1500 });
    const input = sqsEvent([ok, ...retried]);
    const response = await consumer()(input);

    const failedIds = response.batchItemFailures.map((failure) => failure.itemIdentifier).sort();
    expect(failedIds).toEqual(input.Records.slice(1).map((record) => record.messageId).sort());
    for (const event of retried) expect(requestsFor(event.id)).toHaveLength(1);
  });

  it('other 4xx go straight to the dead-letter queue, with the reason, and are not retried', async () => {
    const refused = changeEvent();
    const fine = changeEvent();
    replies.set(refused.id, { status: 410 });
    const response = await consumer()(sqsEvent([refused, fine]));

    expect(response.batchItemFailures).toEqual([]);
    const parked = await receiveMessages(aws, deadLetterQueueUrl, { count: 1, settleMs: 200 });
    expect(parked.map((message) => message.event.id)).toEqual([refused.id]);
    expect(parked[0]!.attributes.pgbridge_failure).toContain('410');
    expect(parked[0]!.attributes.table).toBe('users');
  });

  it('refuses loopback targets unless allowed: the event goes to the dead-letter queue, nothing is sent', async () => {
    for (const url of [receiver.url, receiver.url.replace('127.0.0.1', 'localhost'), receiver.url.replace('127.0.0.1', '[64:ff9b::7f00:1]')]) {
      const event = changeEvent();
      const response = await consumer({ url, allowPrivateTargets: false })(sqsEvent([event]));
      expect(response.batchItemFailures).toEqual([]);
      expect(requestsFor(event.id)).toHaveLength(0);
      const parked = await receiveMessages(aws, deadLetterQueueUrl, { count: 1 });
      expect(parked.map((message) => message.event.id)).toEqual([event.id]);
      expect(parked[0]!.attributes.pgbridge_failure).toMatch(/private, loopback or link-local/);
    }
  });

  it('treats metadata, private, loopback and link-local addresses as private, public ones as public', () => {
    for (const address of ['169.254.169.254', '10.0.0.5', '172.31.255.1', '192.168.1.1', '127.0.0.1', '0.0.0.0', '100.64.0.1', '::1', '::', 'fd00:ec2::254', 'fe80::1', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe']) {
      expect({ address, private: isPrivateAddress(address) }).toEqual({ address, private: true });
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '172.32.0.1']) {
      expect({ address, private: isPrivateAddress(address) }).toEqual({ address, private: false });
    }
  });

  it('an IPv4 address wrapped in IPv6 (mapped, SIIT, NAT64) is judged by the IPv4 address it reaches, in any notation', () => {
    const metadata = [
      '64:ff9b::a9fe:a9fe',
      '64:ff9b::169.254.169.254',
      '64:ff9b:0:0:0:0:a9fe:a9fe',
      '64:ff9b:1::a9fe:a9fe',
      '64:ff9b:1:abcd::169.254.169.254',
      '::ffff:0:a9fe:a9fe',
      '::ffff:0:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '0:0:0:0:0:ffff:a9fe:a9fe',
      '::FFFF:A9FE:A9FE',
    ];
    // The local-use NAT64 prefix leads into a private network whatever it embeds.
    for (const address of [...metadata, '64:ff9b::7f00:1', '64:ff9b::a00:5', '::ffff:0:c0a8:101', '::a9fe:a9fe', '64:ff9b:1::5db8:d822']) {
      expect({ address, private: isPrivateAddress(address) }).toEqual({ address, private: true });
    }
    for (const address of ['64:ff9b::808:808', '64:ff9b::8.8.8.8', '::ffff:0:808:808', '::ffff:808:808']) {
      expect({ address, private: isPrivateAddress(address) }).toEqual({ address, private: false });
    }
  });

  it('never logs the signing secret, even when deliveries fail', async () => {
    const logger = new Logger({ logLevel: 'ERROR' });
    const logged: string[] = [];
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => void logged.push(JSON.stringify(args)));
    }
    const event = changeEvent();
    replies.set(event.id, { status: 500 });
    const handler = createWebhookConsumer(
      { url: receiver.url, secret: async () => SECRET, timeoutMs: 1000, allowPrivateTargets: true },
      { sqs: aws.resources.sqs, deadLetterQueueUrl, logger },
    );
    await handler(sqsEvent([event, '{"not":"an event"}']));

    expect(logged.join('\n')).toContain('will be retried');
    expect(logged.join('\n')).not.toContain(SECRET);
  });
});
