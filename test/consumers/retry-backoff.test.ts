import { Logger } from '@aws-lambda-powertools/logger';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handleChanges } from '../../lib/consumers/handle-changes.ts';
import {
  receivesForRetryWindow,
  retryBackoffFromEnvironment,
  retryDelaySeconds,
  retryWindowSeconds,
  type RetryBackoff,
} from '../../lib/consumers/retry-backoff.ts';
import { ConsumerRunner } from '../../lib/local/consumer-runner.ts';
import { startTestAws, type TestAws } from '../support/test-aws.ts';
import { changeEvent } from '../support/sqs-event.ts';
import { waitFor } from '../support/test-listener.ts';

let aws: TestAws;
const runners: ConsumerRunner[] = [];
const quiet = () => new Logger({ logLevel: 'CRITICAL' });
// Seconds instead of minutes, so that three backoffs fit in a test.
const backoff: RetryBackoff = { firstDelaySeconds: 1, maxDelaySeconds: 4 };

beforeAll(async () => {
  aws = await startTestAws();
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});
afterAll(async () => aws?.stop());

/**
 * A consumer queue as the constructs make it: a visibility timeout far longer than the backoff
 * (so a record that comes back early can only have been moved by the backoff) and a redrive
 * policy to a dead-letter queue after `maxReceiveCount` receives.
 */
async function consumerQueue(maxReceiveCount: number) {
  const deadLetter = await aws.resources.createQueue(aws.name('backoff-dlq'));
  const queue = await aws.resources.createQueue(aws.name('backoff'), {
    VisibilityTimeout: '60',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount }),
  });
  return { queue, deadLetter };
}

function run(queue: { url: string; arn: string }, handle: (receiveCount: number) => void) {
  const handler = handleChanges((_event, record) => handle(Number(record.attributes.ApproximateReceiveCount)), {
    logger: quiet(),
    sqs: aws.resources.sqs,
    queueUrl: queue.url,
    retryBackoff: backoff,
  });
  const runner = new ConsumerRunner({ name: 'backoff', sqs: aws.resources.sqs, queueUrl: queue.url, queueArn: queue.arn, handler });
  runners.push(runner);
  runner.start();
}

describe('retry backoff of failed records', () => {
  it('waits double as long after each failure, up to the maximum delay', () => {
    expect([1, 2, 3, 4, 5, 6].map((receive) => retryDelaySeconds(receive, { firstDelaySeconds: 10, maxDelaySeconds: 60 }))).toEqual([
      10, 20, 40, 60, 60, 60,
    ]);
  });

  it('the retry window is the sum of the waits between receives, and a window gives the receives it needs', () => {
    const production: RetryBackoff = { firstDelaySeconds: 10, maxDelaySeconds: 900 };
    expect(retryWindowSeconds(5, production)).toBe(10 + 20 + 40 + 80);
    const receives = receivesForRetryWindow(24 * 3600, production);
    expect(retryWindowSeconds(receives, production)).toBeGreaterThanOrEqual(24 * 3600);
    expect(retryWindowSeconds(receives - 1, production)).toBeLessThan(24 * 3600);
  });

  it('the backoff the constructs put in the environment is read once, and a bad value names the variable', () => {
    expect(
      retryBackoffFromEnvironment({
        PGBRIDGE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q',
        PGBRIDGE_RETRY_FIRST_DELAY_SECONDS: '5',
        PGBRIDGE_RETRY_MAX_DELAY_SECONDS: '60',
      }),
    ).toEqual({
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q',
      backoff: { firstDelaySeconds: 5, maxDelaySeconds: 60 },
    });
    expect(retryBackoffFromEnvironment({})).toEqual({ queueUrl: undefined, backoff: { firstDelaySeconds: 10, maxDelaySeconds: 900 } });
    expect(() => retryBackoffFromEnvironment({ PGBRIDGE_RETRY_MAX_DELAY_SECONDS: 'soon' })).toThrow(
      /invalid retry consumer environment: PGBRIDGE_RETRY_MAX_DELAY_SECONDS: .*\(got "soon"\)/,
    );
    expect(() => retryBackoffFromEnvironment({ PGBRIDGE_RETRY_MAX_DELAY_SECONDS: '50000' })).toThrow(/PGBRIDGE_RETRY_MAX_DELAY_SECONDS/);
  });

  it('a record whose target is down comes back after 1, 2 and 4 seconds, not after the queue visibility timeout, and is handled once the target is up', async () => {
    const { queue, deadLetter } = await consumerQueue(10);
    await aws.resources.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(changeEvent()) }));
    const attempts: Array<{ receiveCount: number; at: number }> = [];
    run(queue, (receiveCount) => {
      attempts.push({ receiveCount, at: Date.now() });
      if (attempts.length < 4) throw new Error('the receiver is down');
    });
    await waitFor(() => attempts.length >= 4, 20_000, 'four receives');
    expect(attempts.map((attempt) => attempt.receiveCount)).toEqual([1, 2, 3, 4]);
    const gaps = attempts.slice(1).map((attempt, index) => (attempt.at - attempts[index]!.at) / 1000);
    // The runner polls with a one-second long poll: a record may come back up to ~1 s late.
    [1, 2, 4].forEach((delay, index) => {
      expect(gaps[index]).toBeGreaterThanOrEqual(delay - 0.1);
      expect(gaps[index]).toBeLessThan(delay + 1.5);
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const left = await aws.resources.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
    const dead = await aws.resources.sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetter.url, WaitTimeSeconds: 0 }));
    expect([left.Messages ?? [], dead.Messages ?? []]).toEqual([[], []]);
  });

  it('a record that keeps failing reaches the dead-letter queue only after the retry window', async () => {
    const windowSeconds = 6;
    const maxReceiveCount = receivesForRetryWindow(windowSeconds, backoff);
    expect(maxReceiveCount).toBe(4);
    const { queue, deadLetter } = await consumerQueue(maxReceiveCount);
    await aws.resources.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(changeEvent()) }));
    const sentAt = Date.now();
    const receives: number[] = [];
    run(queue, (receiveCount) => {
      receives.push(receiveCount);
      throw new Error('the receiver is down for good');
    });
    let deadAt = 0;
    await waitFor(
      async () => {
        const { Messages = [] } = await aws.resources.sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetter.url, WaitTimeSeconds: 1 }));
        if (Messages.length > 0) deadAt = Date.now();
        return Messages.length > 0;
      },
      30_000,
      'the record in the dead-letter queue',
    );
    expect(receives).toEqual([1, 2, 3, 4]);
    expect((deadAt - sentAt) / 1000).toBeGreaterThanOrEqual(windowSeconds);
  });

  it('on a FIFO queue a failed record backs off and holds back its own group, in order, while other groups go through', async () => {
    const queue = await aws.resources.createQueue(aws.name('backoff.fifo'), { VisibilityTimeout: '60' });
    for (const [id, group] of [
      ['101', 'row-a'],
      ['201', 'row-b'],
      ['102', 'row-a'],
    ] as const) {
      await aws.resources.sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.url,
          MessageBody: JSON.stringify(changeEvent({ id })),
          MessageGroupId: group,
          MessageDeduplicationId: id,
        }),
      );
    }
    const handled: Array<{ id: string; at: number }> = [];
    const tries: number[] = [];
    const handler = handleChanges(
      (event) => {
        if (event.id === '101' && tries.push(Date.now()) < 3) throw new Error('the receiver is down');
        handled.push({ id: event.id, at: Date.now() });
      },
      { logger: quiet(), sqs: aws.resources.sqs, queueUrl: queue.url, retryBackoff: backoff },
    );
    const runner = new ConsumerRunner({ name: 'backoff-fifo', sqs: aws.resources.sqs, queueUrl: queue.url, queueArn: queue.arn, handler });
    runners.push(runner);
    runner.start();
    await waitFor(() => handled.length >= 3, 20_000, 'the three records handled');
    expect(handled.map((record) => record.id)).toEqual(['201', '101', '102']);
    // The other group did not wait for row-a's retries.
    expect(handled[0]!.at).toBeLessThan(tries[1]!);
    // row-a came back after 1 s, then 2 s: not after the queue's 60-second visibility timeout.
    expect((tries[2]! - tries[0]!) / 1000).toBeGreaterThanOrEqual(2.9);
    expect((tries[2]! - tries[0]!) / 1000).toBeLessThan(8);
  });
});
