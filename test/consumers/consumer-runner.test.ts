import { DeleteMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerRunner, type SqsHandler } from '../../lib/local/consumer-runner.ts';
import { startTestAws, type TestAws } from '../support/test-aws.ts';
import { waitFor } from '../support/test-listener.ts';

let aws: TestAws;
const runners: ConsumerRunner[] = [];

beforeAll(async () => {
  aws = await startTestAws();
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});
afterAll(async () => aws?.stop());

/** A queue holding one message whose failed receives come back after one second. */
async function queueWithOneMessage(body: string) {
  const queue = await aws.resources.createQueue(aws.name('runner'), { VisibilityTimeout: '1' });
  await aws.resources.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }));
  return queue;
}

function startRunner(queue: { url: string; arn: string }, handler: SqsHandler, sqs: SQSClient = aws.resources.sqs) {
  const runner = new ConsumerRunner({ name: 'test', sqs, queueUrl: queue.url, queueArn: queue.arn, handler });
  runners.push(runner);
  runner.start();
  return runner;
}

describe('local Lambda event-source runner', () => {
  it('a handler that throws does not stop the runner, even with no failure listener: the record comes back and is handled', async () => {
    const queue = await queueWithOneMessage('first try fails');
    const received: string[] = [];
    startRunner(queue, async (event) => {
      received.push(event.Records[0]!.body);
      if (received.length === 1) throw new Error('downstream is down');
    });
    await waitFor(() => received.length >= 2, 10_000, 'the record to come back after the visibility timeout');
    expect(received).toEqual(['first try fails', 'first try fails']);
  });

  it('handled messages that cannot be deleted are reported as failures and delivered again', async () => {
    const queue = await queueWithOneMessage('delete me');
    const real = aws.resources.sqs;
    let deletes = 0;
    // The first delete call fails outright, the second is refused entry by entry, the third goes through.
    const sqs = {
      send: async (command: unknown) => {
        if (!(command instanceof DeleteMessageBatchCommand) || ++deletes > 2) return real.send(command as never);
        if (deletes === 1) throw new Error('socket hang up');
        return { Successful: [], Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', SenderFault: true, Message: 'expired' }] };
      },
    } as unknown as SQSClient;
    const handled: string[] = [];
    const failures: string[] = [];
    const runner = startRunner(queue, async (event) => void handled.push(event.Records[0]!.body), sqs);
    runner.on('failure', (error) => failures.push(error.message));

    await waitFor(() => handled.length >= 3, 15_000, 'the message to be delivered three times');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(handled).toEqual(['delete me', 'delete me', 'delete me']);
    expect(failures).toEqual([
      expect.stringMatching(/could not be deleted and will be delivered again: socket hang up/),
      expect.stringMatching(/could not be deleted and will be delivered again \(.+: ReceiptHandleIsInvalid expired\)/),
    ]);
  });
});
