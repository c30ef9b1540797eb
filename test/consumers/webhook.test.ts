import { Logger } from '@aws-lambda-powertools/logger';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebhookConsumer, type WebhookConsumerSettings } from '../../lib/consumers/webhook-consumer.ts';
import { generateWebhookSecret, parseWebhookSecrets } from '../../lib/consumers/webhook-secret.ts';
import { WebhookSigner } from '../../lib/consumers/webhook-signature.ts';
import { isPrivateAddress } from '../../lib/consumers/webhook-target.ts';
import { WebhookReceiver, type ReceivedWebhook, type WebhookReply } from '../../lib/local/webhook-receiver.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { changeEvent, sqsEvent } from '../support/sqs-event.ts';

const SECRET = generateWebhookSecret();
let aws: TestAws;
let receiver: WebhookReceiver;
let deadLetterQueueUrl: string;
/** What the receiver answers next, per event id; 204 when not set. */
const replies = new Map<string, WebhookReply[]>();

beforeAll(async () => {
  aws = await startTestAws();
  deadLetterQueueUrl = (await aws.resources.createQueue(aws.name('webhook-dlq'))).url;
  receiver = await new WebhookReceiver({
    secret: SECRET,
    reply: (request) => replies.get(request.headers['webhook-id'] as string)?.shift() ?? { status: request.signature.valid ? 204 : 401 },
  }).start();
});

afterAll(async () => {
  await receiver?.stop();
  await aws?.stop();
});

afterEach(() => {
  vi.useRealTimers();
});

function consumer(settings: Partial<WebhookConsumerSettings> = {}, logger = new Logger({ logLevel: 'ERROR' })) {
  return createWebhookConsumer(
    { url: receiver.url, secret: async () => SECRET, timeoutMs: 1000, allowPrivateTargets: true, ...settings },
    { sqs: aws.resources.sqs, deadLetterQueueUrl, logger },
  );
}

function requestsFor(eventId: string) {
  return receiver.received.filter((request) => request.headers['webhook-id'] === eventId);
}

/** What a receiver hands the `standardwebhooks` library: the raw body and the request's headers. */
function verifyWith(secret: string, request: ReceivedWebhook, body = request.body) {
  return () => new Webhook(secret).verify(body, request.headers as Record<string, string>);
}

function capturingLogger() {
  const logger = new Logger({ logLevel: 'ERROR' });
  const logged: string[] = [];
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    vi.spyOn(logger, level).mockImplementation(
      (...args: unknown[]) =>
        void logged.push(JSON.stringify(args, (_key, value) => (value instanceof Error ? { message: value.message } : value))),
    );
  }
  return { logger, logged };
}

describe('webhook consumer', () => {
  it('POSTs the event body with Standard Webhooks headers that the standardwebhooks library verifies, webhook-id being the event id', async () => {
    const event = changeEvent({ table: 'orders', row: { id: 7, total: 12.5 } });
    const input = sqsEvent([event]);
    const response = await consumer({ headers: { 'x-api-key': 'k-123' } })(input);

    expect(response.batchItemFailures).toEqual([]);
    const [request] = requestsFor(event.id);
    expect(request!.body).toBe(input.Records[0]!.body);
    expect(verifyWith(SECRET, request!)()).toEqual(event);
    expect(request!.headers['webhook-id']).toBe(event.id);
    expect(Number(request!.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(request!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe('pgbridge-webhook');
    expect(request!.headers['x-api-key']).toBe('k-123');
  });

  it('a delivered request does not verify with a tampered body, with another secret, or replayed more than five minutes later', async () => {
    const event = changeEvent();
    await consumer()(sqsEvent([event]));
    const [request] = requestsFor(event.id);
    expect(verifyWith(SECRET, request!)).not.toThrow();

    expect(verifyWith(SECRET, request!, request!.body.replace('Ada', 'Eve'))).toThrow('No matching signature found');
    expect(verifyWith(generateWebhookSecret(), request!)).toThrow('No matching signature found');
    const swappedId = { ...request!, headers: { ...request!.headers, 'webhook-id': String(Number(event.id) + 1) } };
    expect(verifyWith(SECRET, swappedId)).toThrow('No matching signature found');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    expect(verifyWith(SECRET, request!)).toThrow('Message timestamp too old');
  });

  it('signs the published Standard Webhooks test vector to its published signature', () => {
    // Secret, id, timestamp, body and signature as published with the spec's reference libraries and Svix's docs.
    const headers = new WebhookSigner('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'the test vector').sign(
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      '{"test": 2432232314}',
      new Date(1614265330 * 1000),
    );
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('during a secret rotation a delivery carries one signature per secret, and a receiver holding either secret verifies it', async () => {
    const next = `whsec_${randomBytes(64).toString('base64')}`;
    const event = changeEvent();
    const response = await consumer({ secret: async () => `${next} ${SECRET}` })(sqsEvent([event]));

    expect(response.batchItemFailures).toEqual([]);
    const [request] = requestsFor(event.id);
    expect((request!.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    expect(request!.signature).toEqual({ valid: true });
    expect(verifyWith(next, request!)).not.toThrow();
    expect(verifyWith(SECRET, request!)).not.toThrow();
    expect(verifyWith(generateWebhookSecret(), request!)).toThrow('No matching signature found');
  });

  it('a retry long after the first attempt keeps the webhook-id and is signed with its own time, so it still verifies', async () => {
    const event = changeEvent();
    replies.set(event.id, [{ status: 503 }]);
    const input = sqsEvent([event]);
    expect((await consumer()(input)).batchItemFailures).toHaveLength(1);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 20 * 60_000);
    expect((await consumer()(input)).batchItemFailures).toEqual([]);

    const [first, retry] = requestsFor(event.id);
    expect(retry!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(Number(retry!.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(20 * 60);
    expect(retry!.signature).toEqual({ valid: true });
    expect(verifyWith(SECRET, retry!)).not.toThrow();
  });

  it('a secret not in the Standard Webhooks form fails every record with what to store, sends nothing and never logs the secret', async () => {
    const badSecret = 'hunter2-is-my-password';
    const { logger, logged } = capturingLogger();
    const events = [changeEvent(), changeEvent()];
    const input = sqsEvent(events);
    const response = await consumer(
      { secret: async () => badSecret, secretSource: 'Secrets Manager secret arn:aws:secretsmanager:us-east-1:1:secret:hook' },
      logger,
    )(input);

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      input.Records.map((record) => record.messageId).sort(),
    );
    for (const event of events) expect(requestsFor(event.id)).toHaveLength(0);
    const log = logged.join('\n');
    expect(log).toContain('Secrets Manager secret arn:aws:secretsmanager:us-east-1:1:secret:hook is not a Standard Webhooks secret');
    expect(log).toContain('whsec_');
    expect(log).not.toContain(badSecret);
  });

  it('names what is wrong with a secret value without showing it, and accepts the whsec_ and bare base64 forms of 24 to 64 bytes', () => {
    const refusals: Array<[string, string]> = [
      ['', 'PGBRIDGE_WEBHOOK_SECRET is empty'],
      ['whsec_not*base64', 'PGBRIDGE_WEBHOOK_SECRET is not a Standard Webhooks secret: what follows "whsec_" is not base64'],
      [`whsec_${randomBytes(16).toString('base64')}`, 'its key is 16 bytes, not 24 to 64'],
      [`whsec_${randomBytes(65).toString('base64')}`, 'its key is 65 bytes, not 24 to 64'],
      ['whsk_AAAA', 'asymmetric (ed25519) key'],
      [
        `${generateWebhookSecret()} secret!`,
        'secret 2 of 2 in PGBRIDGE_WEBHOOK_SECRET is not a Standard Webhooks secret: it (7 characters) is not base64',
      ],
    ];
    for (const [value, reason] of refusals) {
      expect(() => parseWebhookSecrets(value, 'PGBRIDGE_WEBHOOK_SECRET')).toThrow(reason);
      expect(() => parseWebhookSecrets(value, 'PGBRIDGE_WEBHOOK_SECRET')).toThrow(
        'Store "whsec_" followed by the base64 of 24 to 64 random bytes',
      );
      const message = (() => {
        try {
          parseWebhookSecrets(value, 'PGBRIDGE_WEBHOOK_SECRET');
        } catch (error) {
          return (error as Error).message;
        }
      })()!;
      for (const part of value.split(' ').filter(Boolean)) expect(message).not.toContain(part);
    }
    const accepted = [
      `whsec_${randomBytes(24).toString('base64')}`,
      randomBytes(48).toString('base64'),
      `whsec_${randomBytes(64).toString('base64')}`,
    ];
    expect(parseWebhookSecrets(` ${accepted.join('  ')}\n`, 'PGBRIDGE_WEBHOOK_SECRET')).toEqual(accepted);
  });

  it('408, 429, 5xx and timeouts are retried: only those records are reported as failed', async () => {
    const ok = changeEvent();
    const retried = [changeEvent(), changeEvent(), changeEvent(), changeEvent()];
    replies.set(retried[0]!.id, [{ status: 408 }]);
    replies.set(retried[1]!.id, [{ status: 429 }]);
    replies.set(retried[2]!.id, [{ status: 503 }]);
    replies.set(retried[3]!.id, [{ status: 204, delayMs: 1500 }]);
    const input = sqsEvent([ok, ...retried]);
    const response = await consumer()(input);

    const failedIds = response.batchItemFailures.map((failure) => failure.itemIdentifier).sort();
    expect(failedIds).toEqual(
      input.Records.slice(1)
        .map((record) => record.messageId)
        .sort(),
    );
    for (const event of retried) expect(requestsFor(event.id)).toHaveLength(1);
  });

  it('other 4xx go straight to the dead-letter queue, with the reason, and are not retried', async () => {
    const refused = changeEvent();
    const fine = changeEvent();
    replies.set(refused.id, [{ status: 410 }]);
    const response = await consumer()(sqsEvent([refused, fine]));

    expect(response.batchItemFailures).toEqual([]);
    const parked = await receiveMessages(aws, deadLetterQueueUrl, { count: 1, settleMs: 200 });
    expect(parked.map((message) => message.event.id)).toEqual([refused.id]);
    expect(parked[0]!.attributes.pgbridge_failure).toContain('410');
    expect(parked[0]!.attributes.table).toBe('users');
  });

  it('refuses loopback targets unless allowed: the event goes to the dead-letter queue, nothing is sent', async () => {
    for (const url of [
      receiver.url,
      receiver.url.replace('127.0.0.1', 'localhost'),
      receiver.url.replace('127.0.0.1', '[64:ff9b::7f00:1]'),
    ]) {
      const event = changeEvent();
      const response = await consumer({ url, allowPrivateTargets: false })(sqsEvent([event]));
      expect(response.batchItemFailures).toEqual([]);
      expect(requestsFor(event.id)).toHaveLength(0);
      const parked = await receiveMessages(aws, deadLetterQueueUrl, { count: 1 });
      expect(parked.map((message) => message.event.id)).toEqual([event.id]);
      expect(parked[0]!.attributes.pgbridge_failure).toMatch(/private, loopback or link-local/);
    }
  });

  it('a delivery signed with another secret is refused by the receiver (401) and goes to the dead-letter queue at once', async () => {
    const event = changeEvent();
    const response = await consumer({ secret: async () => generateWebhookSecret() })(sqsEvent([event]));

    expect(response.batchItemFailures).toEqual([]);
    expect(requestsFor(event.id).map((request) => request.signature)).toEqual([{ valid: false, reason: 'No matching signature found' }]);
    const parked = await receiveMessages(aws, deadLetterQueueUrl, { count: 1 });
    expect(parked.map((message) => message.event.id)).toEqual([event.id]);
    expect(parked[0]!.attributes.pgbridge_failure).toContain('401');
  });

  it('treats metadata, private, loopback and link-local addresses as private, public ones as public', () => {
    for (const address of [
      '169.254.169.254',
      '10.0.0.5',
      '172.31.255.1',
      '192.168.1.1',
      '127.0.0.1',
      '0.0.0.0',
      '100.64.0.1',
      '::1',
      '::',
      'fd00:ec2::254',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
    ]) {
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
    const { logger, logged } = capturingLogger();
    const event = changeEvent();
    replies.set(event.id, [{ status: 500 }]);
    await consumer({}, logger)(sqsEvent([event, '{"not":"an event"}']));

    expect(logged.join('\n')).toContain('will be retried');
    expect(logged.join('\n')).not.toContain(SECRET.slice('whsec_'.length));
  });
});
