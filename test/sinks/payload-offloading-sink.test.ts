import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishAll, type PublishOutcome } from '../../lib/sinks/batch-publisher.ts';
import { PayloadOffloadingSink } from '../../lib/sinks/payload-offloading-sink.ts';
import type { OutgoingMessage } from '../../lib/sinks/sink.ts';
import { SnsSink } from '../../lib/sinks/sns-sink.ts';
import { SqsSink } from '../../lib/sinks/sqs-sink.ts';
import { ScriptedSnsServer } from '../support/scripted-sns-server.ts';
import { startTestAws, type TestAws } from '../support/test-aws.ts';

// The S3 step in front of a publish, against the emulator's S3 and a scripted SNS endpoint that
// records which entries each call carried.

let sns: ScriptedSnsServer;
let aws: TestAws;
let bucket: string;

beforeAll(async () => {
  [sns, aws] = await Promise.all([ScriptedSnsServer.start(), startTestAws()]);
  bucket = await aws.resources.createBucket(aws.name('offload'));
});

afterAll(async () => {
  await Promise.all([sns?.stop(), aws?.stop()]);
});

beforeEach(() => {
  sns.reset();
});

const topic = 'arn:aws:sns:us-east-1:123456789012:events.fifo';
const plain = (id: number, group: string): OutgoingMessage => ({
  id: String(id),
  body: `{"id":"${id}"}`,
  attributes: { table: 'items' },
  groupId: group,
});
const offloaded = (id: number, group: string, into: string): OutgoingMessage => {
  const body = `{"id":"${id}","big":1}`;
  return {
    ...plain(id, group),
    body: `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"${into}","s3Key":"${id}.json"}]`,
    numberAttributes: { ExtendedPayloadSize: String(Buffer.byteLength(body)) },
    offloaded: { bucket: into, key: `${id}.json`, body },
  };
};
const byId = (outcomes: PublishOutcome[]) => new Map(outcomes.map((outcome) => [outcome.id, outcome]));

describe('publishing with a payload bucket', () => {
  it('stores each offloaded body before its pointer is published', async () => {
    const sink = new PayloadOffloadingSink(new SnsSink(sns.client(), topic), aws.resources.s3, bucket);
    const report = await publishAll(sink, [plain(1, 'a'), offloaded(2, 'b', bucket), plain(3, 'c')], 4);

    expect(report.outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(sns.calls.flatMap((call) => call.ids).sort()).toEqual(['1', '2', '3']);
    const object = await aws.resources.s3.send(new GetObjectCommand({ Bucket: bucket, Key: '2.json' }));
    expect(await object.Body!.transformToString()).toBe('{"id":"2","big":1}');
  });

  it('straight to SQS, the pointer arrives with ExtendedPayloadSize as a Number attribute', async () => {
    const queue = await aws.resources.createQueue(aws.name('direct'));
    const sink = new PayloadOffloadingSink(new SqsSink(aws.resources.sqs, queue.url), aws.resources.s3, bucket);
    const report = await publishAll(sink, [offloaded(7, 'a', bucket)], 1);

    expect(report.outcomes).toEqual([{ id: '7', ok: true }]);
    const { Messages = [] } = await aws.resources.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    expect(Messages.map((message) => message.MessageAttributes)).toEqual([
      { table: { DataType: 'String', StringValue: 'items' }, ExtendedPayloadSize: { DataType: 'Number', StringValue: '18' } },
    ]);
    expect(JSON.parse(Messages[0]!.Body!)[1]).toEqual({ s3BucketName: bucket, s3Key: '7.json' });
  });

  it('on FIFO, an event whose body cannot be stored is not published and holds back the later events of its row', async () => {
    const sink = new PayloadOffloadingSink(new SnsSink(sns.client(), topic), aws.resources.s3, 'no-such-bucket-for-pgbridge');
    const messages = [offloaded(1, 'a', 'no-such-bucket-for-pgbridge'), plain(2, 'b'), plain(3, 'a'), plain(4, 'b')];
    const outcomes = byId((await publishAll(sink, messages, 1)).outcomes);

    expect(outcomes.get('1')).toMatchObject({
      ok: false,
      retryable: true,
      code: 'PayloadNotStored',
      message: expect.stringContaining('s3://no-such-bucket-for-pgbridge/1.json: NoSuchBucket'),
    });
    expect(outcomes.get('3')).toEqual({ id: '3', ok: false, held: true });
    expect(outcomes.get('2')).toEqual({ id: '2', ok: true });
    expect(outcomes.get('4')).toEqual({ id: '4', ok: true });
    expect(sns.calls.flatMap((call) => call.ids)).toEqual(['2', '4']);
  });

  it('batches without an offloaded message never call S3', async () => {
    // Nothing listens on port 1: any call to this S3 endpoint would fail the entries.
    const unreachable = new S3Client({ endpoint: 'http://127.0.0.1:1', forcePathStyle: true, region: 'us-east-1', maxAttempts: 1 });
    const sink = new PayloadOffloadingSink(new SnsSink(sns.client(), 'arn:aws:sns:us-east-1:123456789012:events'), unreachable, bucket);
    const report = await publishAll(sink, [plain(1, 'a'), plain(2, 'b')], 2);

    expect(report.outcomes).toEqual(
      expect.arrayContaining([
        { id: '1', ok: true },
        { id: '2', ok: true },
      ]),
    );
    unreachable.destroy();
  });
});
