/**
 * Rows too large for SNS (256 KiB), delivered whole through S3: the real listener stores the
 * body in the emulator's S3 and publishes a pointer in the format of AWS's extended client
 * libraries; handleChanges, the webhook and the email consumer read it back, and a real HTTP
 * receiver gets the whole row. Runs against the npm emulator (fauxqs: SNS, SQS and S3 on one
 * endpoint), or LocalStack with `npm run test:localstack`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SESClient } from '@aws-sdk/client-ses';
import { DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand, SetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { handleChanges } from '../../lib/consumers/handle-changes.ts';
import { createEmailConsumer } from '../../lib/consumers/email-consumer.ts';
import { createWebhookConsumer } from '../../lib/consumers/webhook-consumer.ts';
import { withOffloadedBody } from '../../lib/consumers/offloaded-payload.ts';
import { ConsumerRunner } from '../../lib/local/consumer-runner.ts';
import { sentEmails, startLocalSes, type LocalSes } from '../../lib/local/local-ses.ts';
import type { ChangeEvent } from '../../lib/message/change-event.ts';
import { toSqsEvent } from '../../lib/local/sqs-lambda-event.ts';
import { WebhookReceiver } from '../../lib/local/webhook-receiver.ts';
import { e2eSkipReason } from '../support/e2e-target.ts';
import { startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { capturedLogs, startTestListener, waitFor } from '../support/test-listener.ts';

const skipReason = await e2eSkipReason();
if (skipReason) console.warn(`test/e2e skipped: ${skipReason}`);

// A Standard Webhooks style key (whsec_ + base64): what the receiver verifies with.
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
/** About 2 MB of text with characters of 1, 2, 3 and 4 UTF-8 bytes, so sizes and escapes are exercised. */
const BIG_TEXT = 'a é € 😀 '.repeat(150_000);
const quiet = new Logger({ logLevel: 'CRITICAL' });

let db: TestDatabase;
let aws: TestAws;
let bucket: string;
let topicArn: string;
let listener: Listener;
let receiver: WebhookReceiver;
let ses: LocalSes | undefined;
let sesEndpoint: string;

interface Document {
  id: number;
  title: string;
  content: string;
}

beforeAll(async () => {
  if (skipReason) return;
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  bucket = await aws.resources.createBucket(aws.name('payloads'));
  topicArn = await aws.resources.createTopic(aws.name('large-rows'));
  receiver = await new WebhookReceiver({ secret: SECRET }).start();
  if (process.env.AWS_ENDPOINT_URL) {
    sesEndpoint = process.env.AWS_ENDPOINT_URL;
  } else {
    ses = await startLocalSes();
    sesEndpoint = ses.endpoint;
  }
  await db.query(`CREATE TABLE documents (id int PRIMARY KEY, title text NOT NULL, content text NOT NULL)`);
  listener = await startTestListener({
    databaseUrl: db.url,
    endpoint: aws.endpoint,
    topicArn,
    payloadBucket: bucket,
    config: { watches: [{ table: 'documents' }] },
  });
});

afterAll(async () => {
  await listener?.stop();
  await receiver?.stop();
  await Promise.all([db?.stop(), aws?.stop(), ses?.stop()]);
});

/** Receives raw messages (not deleted: each test uses its own queue) with every attribute and its type. */
async function receiveRaw(queueUrl: string, count: number, timeoutMs = 15_000): Promise<Message[]> {
  const received: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const { Messages = [] } = await aws.resources.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    received.push(...Messages);
  }
  return received;
}

async function documentsQueue() {
  // A filter on pgbridge's own attributes: an offloaded row must still match it.
  return aws.resources.subscribeQueue(topicArn, aws.name('documents'), { table: ['documents'], action: ['insert', 'update'] });
}

function lambdaEvent(messages: Message[], queueArn: string): SQSEvent {
  return toSqsEvent(messages, queueArn, 'us-east-1');
}

describe.skipIf(skipReason)('rows too large for SNS', () => {
  it('a 2 MB row is stored in S3 and its message is an extended-client pointer that keeps the filter attributes', async () => {
    const queue = await documentsQueue();
    await db.query(`INSERT INTO documents VALUES (1, 'big', $1), (2, 'small', 'tiny')`, [BIG_TEXT]);
    const messages = await receiveRaw(queue.url, 2);
    expect(messages).toHaveLength(2);
    const big = messages.find((message) => message.MessageAttributes?.ExtendedPayloadSize)!;
    const small = messages.find((message) => !message.MessageAttributes?.ExtendedPayloadSize)!;

    expect(JSON.parse(small.Body!).row).toEqual({ id: 2, title: 'small', content: 'tiny' });
    const [pointerClass, pointer] = JSON.parse(big.Body!);
    expect(pointerClass).toBe('software.amazon.payloadoffloading.PayloadS3Pointer');
    expect(pointer).toEqual({ s3BucketName: bucket, s3Key: expect.stringMatching(/^\d+-[0-9a-f]{64}\.json$/) });
    expect(big.MessageAttributes).toMatchObject({
      table: { DataType: 'String', StringValue: 'documents' },
      schema: { DataType: 'String', StringValue: 'public' },
      action: { DataType: 'String', StringValue: 'insert' },
      ExtendedPayloadSize: { DataType: 'Number' },
    });

    const object = await aws.resources.s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointer.s3Key }));
    const stored = await object.Body!.transformToByteArray();
    expect(String(stored.length)).toBe(big.MessageAttributes!.ExtendedPayloadSize!.StringValue);
    const event = JSON.parse(Buffer.from(stored).toString('utf8')) as ChangeEvent<Document>;
    expect(event).toMatchObject({ table: 'documents', action: 'insert', key: { id: 1 }, row: { id: 1, title: 'big', content: BIG_TEXT } });
    expect(event).not.toHaveProperty('truncated');
  });

  it('handleChanges gives a custom consumer the whole row, and the record the whole body', async () => {
    const queue = await documentsQueue();
    await db.query(`UPDATE documents SET title = 'big, renamed' WHERE id = 1`);
    const messages = await receiveRaw(queue.url, 1);
    const seen: { event: ChangeEvent<Document>; body: string; attributes: string[] }[] = [];
    const handler = handleChanges<Document>(
      (event, record) => {
        seen.push({ event, body: record.body, attributes: Object.keys(record.messageAttributes) });
      },
      { s3: aws.resources.s3, logger: quiet },
    );

    const response = await handler(lambdaEvent(messages, queue.arn));

    expect(response.batchItemFailures).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.event).toMatchObject({
      action: 'update',
      row: { id: 1, title: 'big, renamed', content: BIG_TEXT },
      changed: ['title'],
    });
    expect(seen[0]!.event.old).toMatchObject({ title: 'big', content: BIG_TEXT });
    expect(JSON.parse(seen[0]!.body).row.content).toBe(BIG_TEXT);
    // As AWS's extended clients do: the size attribute is gone once the body is back.
    expect(seen[0]!.attributes.sort()).toEqual(['action', 'schema', 'table']);
  });

  it('the webhook consumer POSTs the whole row, signed, to a real receiver', async () => {
    const queue = await documentsQueue();
    await db.query(`INSERT INTO documents VALUES (3, 'for the webhook', $1)`, [BIG_TEXT]);
    const messages = await receiveRaw(queue.url, 1);
    const consumer = createWebhookConsumer(
      { url: receiver.url, secret: async () => SECRET, timeoutMs: 10_000, allowPrivateTargets: true },
      { s3: aws.resources.s3, sqs: aws.resources.sqs, logger: quiet },
    );

    const response = await consumer(lambdaEvent(messages, queue.arn));

    expect(response.batchItemFailures).toEqual([]);
    const delivered = receiver.received.filter((request) => JSON.parse(request.body).key?.id === 3);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.signature).toMatchObject({ valid: true });
    expect(JSON.parse(delivered[0]!.body)).toMatchObject({
      table: 'documents',
      action: 'insert',
      row: { id: 3, title: 'for the webhook', content: BIG_TEXT },
    });
  });

  it('the email consumer renders its templates from the whole row', async () => {
    const queue = await documentsQueue();
    await db.query(`INSERT INTO documents VALUES (6, 'for the email', $1)`, [BIG_TEXT]);
    const messages = await receiveRaw(queue.url, 1);
    const client = new SESClient({ endpoint: sesEndpoint, region: 'us-east-1' });
    const consumer = createEmailConsumer(
      { from: 'docs@example.com', to: ['readers@example.com'], subject: 'New: {{row.title}}', text: 'Document {{row.id}}: {{row.title}}' },
      { ses: client, s3: aws.resources.s3, logger: quiet },
    );

    const response = await consumer(lambdaEvent(messages, queue.arn));

    expect(response.batchItemFailures).toEqual([]);
    const emails = (await sentEmails(sesEndpoint)).filter((email) => email.subject === 'New: for the email');
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({ to: ['readers@example.com'], text: 'Document 6: for the email' });
    client.destroy();
  });

  it('a pointer whose object is gone fails the record with bucket and key named, and the redrive policy dead-letters it intact', async () => {
    const queue = await documentsQueue();
    const deadLetter = await aws.resources.createQueue(aws.name('documents-dlq'));
    await aws.resources.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queue.url,
        Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: 2 }) },
      }),
    );
    const before = new Set(await objectKeys());
    await db.query(`INSERT INTO documents VALUES (4, 'expires', $1)`, [BIG_TEXT]);
    await waitFor(async () => (await objectKeys()).some((key) => !before.has(key)), 10_000, 'the body to be stored');
    const key = (await objectKeys()).find((candidate) => !before.has(candidate))!;
    await waitFor(
      async () => (await db.query(`SELECT count(*)::int AS waiting FROM pgbridge.outbox`)).rows[0].waiting === 0,
      10_000,
      'the pointer to be published',
    );
    await aws.resources.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: key }] } }));

    const pointer: Message = {
      MessageId: 'm-1',
      Body: JSON.stringify(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: bucket, s3Key: key }]),
      MessageAttributes: { ExtendedPayloadSize: { DataType: 'Number', StringValue: '2000000' } },
    };
    await expect(withOffloadedBody(lambdaEvent([pointer], queue.arn).Records[0]!, () => aws.resources.s3)).rejects.toThrow(
      `message m-1: its body s3://${bucket}/${key} could not be read: NoSuchKey`,
    );

    let handled = 0;
    const failures: number[] = [];
    const runner = new ConsumerRunner({
      name: 'expired-bodies',
      sqs: aws.resources.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      handler: handleChanges(() => void handled++, { s3: aws.resources.s3, sqs: aws.resources.sqs, logger: quiet }),
    });
    runner.on('batch', ({ failed }) => failures.push(failed.length));
    runner.start();
    try {
      const dead = await receiveRaw(deadLetter.url, 1, 20_000);
      expect(dead).toHaveLength(1);
      expect(JSON.parse(dead[0]!.Body!)[1]).toEqual({ s3BucketName: bucket, s3Key: key });
      expect(dead[0]!.MessageAttributes!.ExtendedPayloadSize).toMatchObject({ DataType: 'Number' });
    } finally {
      await runner.stop();
    }
    expect(handled).toBe(0);
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.every((count) => count === 1)).toBe(true);
  });

  it('while the object cannot be stored the event stays in the outbox, and it arrives whole once S3 takes it', async () => {
    const queue = await documentsQueue();
    await emptyAndDeleteBucket();
    await db.query(`INSERT INTO documents VALUES (5, 'waits for S3', $1)`, [BIG_TEXT]);
    await waitFor(
      () => capturedLogs.some((line) => line.msg === 'sink refused events, will retry them' && line.first?.code === 'PayloadNotStored'),
      15_000,
      'the failed put to be logged',
    );
    const refusal = capturedLogs.find((line) => line.first?.code === 'PayloadNotStored');
    expect(refusal.first.reason).toContain(`s3://${bucket}/`);
    const { rows } = await db.query(`SELECT count(*)::int AS waiting FROM pgbridge.outbox`);
    expect(rows[0].waiting).toBe(1);
    expect(await receiveRaw(queue.url, 1, 500)).toEqual([]);

    await aws.resources.createBucket(bucket);
    const messages = await receiveRaw(queue.url, 1);
    const [record] = lambdaEvent(messages, queue.arn).Records;
    const whole = JSON.parse((await withOffloadedBody(record!, () => aws.resources.s3)).body);
    expect(whole.row).toEqual({ id: 5, title: 'waits for S3', content: BIG_TEXT });
    await waitFor(
      async () => (await db.query(`SELECT count(*)::int AS waiting FROM pgbridge.outbox`)).rows[0].waiting === 0,
      5000,
      'the outbox to drain',
    );
  });
});

describe.skipIf(skipReason)('rows too large for a FIFO topic', () => {
  let fifoDb: TestDatabase;
  let fifoListener: Listener;
  let fifoTopicArn: string;

  beforeAll(async () => {
    fifoDb = await startTestDatabase();
    fifoTopicArn = await aws.resources.createTopic(aws.name('large-rows.fifo'));
    await fifoDb.query(`CREATE TABLE documents (id int PRIMARY KEY, title text NOT NULL, content text NOT NULL)`);
    fifoListener = await startTestListener({
      databaseUrl: fifoDb.url,
      endpoint: aws.endpoint,
      topicArn: fifoTopicArn,
      payloadBucket: bucket,
      config: { watches: [{ table: 'documents' }] },
    });
  });

  afterAll(async () => {
    await fifoListener?.stop();
    await fifoDb?.stop();
  });

  it('a row stored in S3 keeps its message group and its place among the events of its row', async () => {
    const queue = await aws.resources.subscribeQueue(fifoTopicArn, aws.name('documents.fifo'));
    await fifoDb.query(`INSERT INTO documents VALUES (1, 'v1', 'small')`);
    await fifoDb.query(`UPDATE documents SET title = 'v2', content = $1 WHERE id = 1`, [BIG_TEXT]);
    await fifoDb.query(`UPDATE documents SET title = 'v3', content = 'small again' WHERE id = 1`);
    const messages: Message[] = [];
    const deadline = Date.now() + 15_000;
    // One message of a group at a time: each is deleted before the next one becomes visible.
    while (messages.length < 3 && Date.now() < deadline) {
      const { Messages = [] } = await aws.resources.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
      );
      for (const message of Messages) {
        messages.push(message);
        await aws.resources.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle! }));
      }
    }
    const records = lambdaEvent(messages, queue.arn).Records;
    const events = await Promise.all(
      records.map(async (record) => JSON.parse((await withOffloadedBody(record, () => aws.resources.s3)).body)),
    );

    expect(events.map((event) => event.row.title)).toEqual(['v1', 'v2', 'v3']);
    expect(events[1].row.content).toBe(BIG_TEXT);
    // The last update is large too: its `old` holds the big content.
    expect(events[2].old.content).toBe(BIG_TEXT);
    expect(messages.map((message) => Boolean(message.MessageAttributes?.ExtendedPayloadSize))).toEqual([false, true, true]);
    expect(new Set(messages.map((message) => message.Attributes?.MessageGroupId))).toEqual(new Set(['public.documents:1']));
  });
});

async function objectKeys(): Promise<string[]> {
  const { Contents = [] } = await aws.resources.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return Contents.map(({ Key }) => Key!);
}

async function emptyAndDeleteBucket(): Promise<void> {
  const { Contents = [] } = await aws.resources.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  if (Contents.length > 0) {
    await aws.resources.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: Contents.map(({ Key }) => ({ Key })) } }));
  }
  await aws.resources.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
