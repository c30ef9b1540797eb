/**
 * `pgbridge redrive` against the SNS/SQS emulator, which has no message move tasks: the
 * receive → send → delete path, the source found through the queues' redrive policies.
 */
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRedrive, redrive } from '../../lib/redrive/redrive.ts';
import { runCli } from '../support/cli-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';

let aws: TestAws;

beforeAll(async () => {
  aws = await startTestAws();
});

afterAll(async () => {
  await aws?.stop();
});

const pgbridge = (...args: string[]) => runCli(args, { AWS_ENDPOINT_URL: aws.endpoint });

/** A consumer's queue and the dead-letter queue its redrive policy names. */
async function queueWithDeadLetterQueue(base: string, queueAttributes: Record<string, string> = {}) {
  const deadLetter = await aws.resources.createQueue(
    aws.name(`${base}-dlq${base.endsWith('.fifo') ? '.fifo' : ''}`.replace('.fifo-dlq', '-dlq')),
  );
  const queue = await aws.resources.createQueue(aws.name(base), {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: 3 }),
    ...queueAttributes,
  });
  return { queue, deadLetter };
}

async function fill(
  queueUrl: string,
  messages: { body: string; attributes?: Record<string, MessageAttributeValue>; group?: string }[],
): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const { Failed = [] } = await aws.resources.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(start, start + 10).map((message, index) => ({
          Id: String(index),
          MessageBody: message.body,
          MessageAttributes: message.attributes,
          ...(message.group ? { MessageGroupId: message.group, MessageDeduplicationId: `${message.group}-${start + index}` } : {}),
        })),
      }),
    );
    expect(Failed).toEqual([]);
  }
}

async function depth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await aws.resources.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

const change = (id: number) => JSON.stringify({ id: String(id), table: 'orders', action: 'insert', row: { id, total: id * 1.5 } });
const changeAttributes = (id: number): Record<string, MessageAttributeValue> => ({
  table: { DataType: 'String', StringValue: 'orders' },
  action: { DataType: 'String', StringValue: 'insert' },
  attempt: { DataType: 'Number', StringValue: String(id) },
  trace: { DataType: 'Binary', BinaryValue: Buffer.from([id, 0, 255]) },
});

describe('pgbridge redrive on an endpoint without message move tasks', () => {
  it('moves every message back to the queue whose redrive policy names the dead-letter queue, with its body and attributes', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('orders');
    await fill(
      deadLetter.url,
      Array.from({ length: 25 }, (_, index) => ({ body: change(index), attributes: changeAttributes(index) })),
    );

    const result = await pgbridge('redrive', deadLetter.url);

    expect(result.stderr).toContain('redrive: 25 of ~25 moved');
    expect(result).toMatchObject({
      code: 0,
      stdout: `moved 25 message(s) from ${deadLetter.url.split('/').pop()} to ${queue.url.split('/').pop()} (receive, send, delete)\n`,
    });
    const arrived = await receiveMessages(aws, queue.url, { count: 25, settleMs: 200 });
    expect(arrived.map((message) => message.body).sort()).toEqual(Array.from({ length: 25 }, (_, index) => change(index)).sort());
    const seven = arrived.find((message) => message.event.id === '7')!;
    expect(seven.attributes).toMatchObject({ table: 'orders', action: 'insert', attempt: '7' });
    expect(await depth(deadLetter.url)).toBe(0);
  });

  it('keeps binary and number attributes as they were', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('typed');
    await fill(deadLetter.url, [{ body: change(9), attributes: changeAttributes(9) }]);
    const plan = await planRedrive(aws.resources.sqs, deadLetter.url);

    expect((await redrive(aws.resources.sqs, plan)).moved).toBe(1);

    const { ReceiveMessageCommand } = await import('@aws-sdk/client-sqs');
    const { Messages = [] } = await aws.resources.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    expect(Messages[0]!.MessageAttributes!.attempt).toMatchObject({ DataType: 'Number', StringValue: '9' });
    expect(Buffer.from(Messages[0]!.MessageAttributes!.trace!.BinaryValue!)).toEqual(Buffer.from([9, 0, 255]));
  });

  it('finds the dead-letter queue by its ARN or its name as well as by its URL', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('named');
    const expected = `dry run: 0 message(s) in ${deadLetter.url.split('/').pop()} would move to ${queue.url.split('/').pop()} (receive, send, delete)\n`;
    expect(await pgbridge('redrive', deadLetter.arn, '--dry-run')).toMatchObject({ code: 0, stdout: expected });
    expect(await pgbridge('redrive', deadLetter.url.split('/').pop()!, '--dry-run')).toMatchObject({ code: 0, stdout: expected });
  });

  it('--dry-run says how many would move where and shows a sample, and moves nothing', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('preview');
    await fill(
      deadLetter.url,
      Array.from({ length: 4 }, (_, index) => ({ body: change(index), attributes: changeAttributes(index) })),
    );

    const result = await pgbridge('redrive', deadLetter.url, '--dry-run', '--sample', '2');

    expect(result.code).toBe(0);
    const [summary, sampleHeader, ...sample] = result.stdout.trim().split('\n');
    expect(summary).toBe(
      `dry run: 4 message(s) in ${deadLetter.url.split('/').pop()} would move to ${queue.url.split('/').pop()} (receive, send, delete)`,
    );
    expect(sampleHeader).toBe('sample (2):');
    expect(sample.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ table: 'orders', action: 'insert' }),
        body: expect.stringContaining('"table":"orders"'),
      }),
      expect.objectContaining({ body: expect.stringContaining('"table":"orders"') }),
    ]);
    expect(await depth(deadLetter.url)).toBe(4);
    expect(await depth(queue.url)).toBe(0);
  });

  it('leaves a message the target refuses in the dead-letter queue, says why, exits 1, and moves the rest', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('small', { MaximumMessageSize: '1024' });
    await fill(deadLetter.url, [
      { body: change(1) },
      { body: JSON.stringify({ id: '2', row: { note: 'x'.repeat(2000) } }) },
      { body: change(3) },
    ]);

    const result = await pgbridge('redrive', deadLetter.url);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`moved 2 message(s) from ${deadLetter.url.split('/').pop()}`);
    expect(result.stdout).toMatch(/rejected by \S+, still in \S+: message \S+: InvalidParameterValue: .*shorter than 1024 bytes/);
    expect((await receiveMessages(aws, queue.url, { count: 2, settleMs: 200 })).map((message) => message.event.id).sort()).toEqual([
      '1',
      '3',
    ]);
    const left = await receiveMessages(aws, deadLetter.url, { count: 1, settleMs: 200 });
    expect(left.map((message) => message.event.id)).toEqual(['2']);
  });

  it('on FIFO keeps each group and its order, and a refused message holds back the rest of its group', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('rows.fifo', { MaximumMessageSize: '1024' });
    const big = JSON.stringify({ id: 'b2', row: { note: 'x'.repeat(2000) } });
    await fill(deadLetter.url, [
      { body: JSON.stringify({ id: 'a1' }), group: 'orders:1' },
      { body: JSON.stringify({ id: 'b1' }), group: 'orders:2' },
      { body: JSON.stringify({ id: 'a2' }), group: 'orders:1' },
      { body: big, group: 'orders:2' },
      { body: JSON.stringify({ id: 'a3' }), group: 'orders:1' },
      { body: JSON.stringify({ id: 'b3' }), group: 'orders:2' },
    ]);

    const result = await pgbridge('redrive', deadLetter.url);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('moved 4 message(s)');
    const arrived = await receiveMessages(aws, queue.url, { count: 4, settleMs: 200 });
    expect(arrived.map((message) => `${message.groupId}/${message.event.id}`)).toEqual([
      'orders:1/a1',
      'orders:2/b1',
      'orders:1/a2',
      'orders:1/a3',
    ]);
    const left = await receiveMessages(aws, deadLetter.url, { count: 2, settleMs: 200 });
    expect(left.map((message) => message.event.id)).toEqual(['b2', 'b3']);
  });

  it("on FIFO a message still arrives when its original deduplication id is inside the target queue's 5-minute window", async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('dedup.fifo');
    // The listener sent event 42 to the queue; it failed and now sits in the dead-letter queue under the same id.
    await aws.resources.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"id":"42"}',
        MessageGroupId: 'orders:42',
        MessageDeduplicationId: '42',
      }),
    );
    await receiveMessages(aws, queue.url, { count: 1 });
    await aws.resources.sqs.send(
      new SendMessageCommand({
        QueueUrl: deadLetter.url,
        MessageBody: '{"id":"42"}',
        MessageGroupId: 'orders:42',
        MessageDeduplicationId: '42',
      }),
    );

    expect((await pgbridge('redrive', deadLetter.url)).stdout).toContain('moved 1 message(s)');

    expect((await receiveMessages(aws, queue.url, { count: 1 })).map((message) => message.event.id)).toEqual(['42']);
  });

  it('stops after the batch in flight when asked to, and what it did not move is still in the dead-letter queue', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('stopped');
    await fill(
      deadLetter.url,
      Array.from({ length: 30 }, (_, index) => ({ body: change(index) })),
    );
    const stop = new AbortController();
    const plan = await planRedrive(aws.resources.sqs, deadLetter.url);

    const result = await redrive(aws.resources.sqs, plan, { signal: stop.signal, onProgress: () => stop.abort() });

    expect(result).toMatchObject({ moved: 10, interrupted: true, rejected: [] });
    expect(await depth(queue.url)).toBe(10);
    expect(await depth(deadLetter.url)).toBe(20);
    const rest = await receiveMessages(aws, deadLetter.url, { count: 20, timeoutMs: 5_000 });
    expect(rest).toHaveLength(20);
  });

  it('keeps to --rate: the second batch of ten waits until a second has passed at ten a second', async () => {
    const { deadLetter } = await queueWithDeadLetterQueue('paced');
    await fill(
      deadLetter.url,
      Array.from({ length: 20 }, (_, index) => ({ body: change(index) })),
    );
    const plan = await planRedrive(aws.resources.sqs, deadLetter.url);
    const startedAt = Date.now();
    const progressAt: number[] = [];

    const result = await redrive(aws.resources.sqs, plan, { maxPerSecond: 10, onProgress: () => progressAt.push(Date.now() - startedAt) });

    expect(result.moved).toBe(20);
    expect(progressAt).toHaveLength(2);
    expect(progressAt[1]).toBeGreaterThanOrEqual(950);
  });

  it('leaves messages that reach the dead-letter queue during the run for the next run', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('failing-again');
    await fill(
      deadLetter.url,
      Array.from({ length: 12 }, (_, index) => ({ body: change(index) })),
    );
    const plan = await planRedrive(aws.resources.sqs, deadLetter.url);

    // A consumer that still fails: each batch moved comes straight back to the dead-letter queue.
    const failedAgain: Promise<number>[] = [];
    const result = await redrive(aws.resources.sqs, plan, {
      onProgress: () =>
        failedAgain.push(
          receiveMessages(aws, queue.url, { count: 10, timeoutMs: 100 }).then(async (messages) => {
            await fill(
              deadLetter.url,
              messages.map((message) => ({ body: message.body })),
            );
            return messages.length;
          }),
        ),
    });

    expect(result.moved).toBe(12);
    const returned = (await Promise.all(failedAgain)).reduce((sum, count) => sum + count, 0);
    expect(returned).toBeGreaterThan(0);
    expect(await depth(deadLetter.url)).toBe(returned);
  });
});

describe('pgbridge redrive refuses what it cannot do, naming it', () => {
  it('an unknown queue: exit 2, naming every name it looked for', async () => {
    const result = await pgbridge('redrive', 'NoSuchConsumer');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'dead-letter queue "NoSuchConsumer" not found: give its URL or ARN, a queue name, or the name of an npm start consumer (looked for "NoSuchConsumer", "pgbridge-demo-NoSuchConsumer-dlq", "pgbridge-demo-NoSuchConsumer-dlq.fifo")',
    );
  });

  it('a queue URL that does not exist: exit 2', async () => {
    const missing = `${aws.endpoint}/000000000000/${aws.name('gone')}`;
    const result = await pgbridge('redrive', missing);
    expect(result).toMatchObject({ code: 2, stderr: `pgbridge: dead-letter queue ${missing} does not exist\n` });
  });

  it("a queue that is no queue's dead-letter queue, without --to: exit 2, asking for --to; with --to it moves", async () => {
    const lonely = await aws.resources.createQueue(aws.name('lonely'));
    const target = await aws.resources.createQueue(aws.name('target'));
    await fill(lonely.url, [{ body: change(1) }]);

    const refused = await pgbridge('redrive', lonely.url);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `is not the dead-letter queue of any queue (no redrive policy names ${lonely.arn}): name the target with --to QUEUE_URL`,
    );

    expect((await pgbridge('redrive', lonely.url, '--to', target.url)).stdout).toContain('moved 1 message(s)');
    expect(await depth(target.url)).toBe(1);
  });

  it('a dead-letter queue shared by two queues, without --to: exit 2, listing both', async () => {
    const { queue, deadLetter } = await queueWithDeadLetterQueue('shared');
    const second = await aws.resources.createQueue(aws.name('shared-too'));
    await aws.resources.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: second.url,
        Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: 3 }) },
      }),
    );
    const result = await pgbridge('redrive', deadLetter.url);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`is the dead-letter queue of 2 queues (`);
    expect(result.stderr).toContain(queue.url);
    expect(result.stderr).toContain(second.url);
  });

  it('a FIFO dead-letter queue and a standard target, or the dead-letter queue as its own target: exit 2, nothing moved', async () => {
    const { deadLetter } = await queueWithDeadLetterQueue('mixed.fifo');
    const standard = await aws.resources.createQueue(aws.name('standard'));
    await fill(deadLetter.url, [{ body: change(1), group: 'g' }]);

    const mixed = await pgbridge('redrive', deadLetter.url, '--to', standard.url);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/is a FIFO queue and \S+ is a standard queue: a redrive moves messages between queues of the same type/);
    const itself = await pgbridge('redrive', deadLetter.url, '--to', deadLetter.url);
    expect(itself.code).toBe(2);
    expect(itself.stderr).toContain('is the dead-letter queue itself');
    expect(await depth(deadLetter.url)).toBe(1);
  });

  it('a --rate above what SQS moves a second: exit 2', async () => {
    const result = await pgbridge('redrive', 'x', '--rate', '501');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "pgbridge redrive: option '--rate <n>' argument '501' is invalid. expected at most 500 (the most SQS moves a second)",
    );
  });

  it("a bad --sample: exit 2 with the command's help", async () => {
    const result = await pgbridge('redrive', 'x', '--dry-run', '--sample', 'many');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "pgbridge redrive: option '--sample <n>' argument 'many' is invalid. expected a whole number of at least 0",
    );
  });
});
