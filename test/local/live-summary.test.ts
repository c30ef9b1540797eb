import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerRunner } from '../../lib/local/consumer-runner.ts';
import { LiveSummary } from '../../lib/local/live-summary.ts';
import { startTestAws, type TestAws } from '../support/test-aws.ts';
import { waitFor } from '../support/test-listener.ts';

let aws: TestAws;
const stops: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  aws = await startTestAws();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});
afterAll(async () => aws?.stop());

/** What the summary wrote, as a terminal (or a pipe) would receive it. */
function output(tty: boolean) {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string; isTTY: boolean; columns: number };
  stream.text = '';
  stream.isTTY = tty;
  stream.columns = 200;
  return stream;
}

/** A consumer whose handler fails the records with body "fail", with one record already dead-lettered. */
async function consumer(id: string) {
  const deadLetter = await aws.resources.createQueue(aws.name(`${id}-dlq`));
  const queue = await aws.resources.createQueue(aws.name(id), { VisibilityTimeout: '60' });
  await aws.resources.sqs.send(new SendMessageCommand({ QueueUrl: deadLetter.url, MessageBody: 'dead already' }));
  const runner = new ConsumerRunner({
    name: id,
    sqs: aws.resources.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    handler: async (event) => ({
      batchItemFailures: event.Records.filter((record) => record.body === 'fail').map((record) => ({ itemIdentifier: record.messageId })),
    }),
  });
  return { id, runner, queue, deadLetterQueueUrl: deadLetter.url };
}

describe('npm start live summary', () => {
  it('shows events/s, the backlog and per consumer handled, failed and dead-lettered records', async () => {
    const orders = await consumer('orders');
    const out = output(false);
    const summary = new LiveSummary({
      out: out as unknown as NodeJS.WriteStream,
      sqs: aws.resources.sqs,
      consumers: [orders],
      refreshMs: 50,
      plainEveryMs: 0,
    });
    orders.runner.start();
    summary.start();
    stops.push(
      () => summary.stop(),
      () => orders.runner.stop(),
    );
    for (const body of ['ok', 'ok', 'fail'])
      await aws.resources.sqs.send(new SendMessageCommand({ QueueUrl: orders.queue.url, MessageBody: body }));
    summary.recordPublished(10);
    summary.recordBacklog(4);

    await waitFor(() => out.text.includes('orders 2 ok, 1 failed, DLQ 1'), 10_000, 'the counts in the summary');
    // 10 events within the default 5-second window.
    expect(summary.line()).toBe('pgbridge 2.0 events/s, backlog 4 | orders 2 ok, 1 failed, DLQ 1');
    expect(summary.line(Date.now() + 6000)).toMatch(/^pgbridge 0\.0 events\/s/);
  });

  it('without a terminal it prints plain lines, only when something changed', async () => {
    const orders = await consumer('plain');
    const out = output(false);
    const summary = new LiveSummary({
      out: out as unknown as NodeJS.WriteStream,
      sqs: aws.resources.sqs,
      consumers: [orders],
      refreshMs: 50,
      plainEveryMs: 0,
    });
    summary.start();
    stops.push(() => summary.stop());
    summary.recordBacklog(7);
    await waitFor(() => out.text.includes('backlog 7'), 5000, 'the first line');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(out.text).not.toContain('\r');
    expect(out.text.trim().split('\n')).toEqual(['pgbridge 0.0 events/s, backlog 7 | plain 0 ok, 0 failed, DLQ 1']);
  });

  it('on a terminal it redraws one line in place, and other output is printed above it', async () => {
    const orders = await consumer('tty');
    const out = output(true);
    const summary = new LiveSummary({
      out: out as unknown as NodeJS.WriteStream,
      sqs: aws.resources.sqs,
      consumers: [orders],
      refreshMs: 50,
    });
    summary.start();
    stops.push(() => summary.stop());
    summary.recordBacklog(0);
    await waitFor(() => out.text.includes('DLQ 1'), 5000, 'the summary drawn');
    summary.log('message  {"table":"orders"}');
    const line = 'pgbridge 0.0 events/s, backlog 0 | tty 0 ok, 0 failed, DLQ 1';
    expect(out.text).toContain(`\r\x1b[Kmessage  {"table":"orders"}\n${line}`);
    expect(out.text).not.toContain(`${line}\n`);
  });
});
