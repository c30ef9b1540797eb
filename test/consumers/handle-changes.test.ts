import { Logger } from '@aws-lambda-powertools/logger';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleChanges } from '../../lib/consumers/handle-changes.ts';
import { PermanentFailure } from '../../lib/consumers/permanent-failure.ts';
import { startTestAws, type TestAws } from '../support/test-aws.ts';
import { changeEvent, sqsEvent } from '../support/sqs-event.ts';

interface User {
  id: number;
  name: string;
  email: string;
}

let aws: TestAws;
let deadLetterQueueUrl: string;
const quiet = () => new Logger({ logLevel: 'CRITICAL' });

beforeAll(async () => {
  aws = await startTestAws();
  deadLetterQueueUrl = (await aws.resources.createQueue(aws.name('handle-changes-dlq'))).url;
});
afterAll(async () => aws?.stop());

describe('handleChanges', () => {
  it('gives the handler typed events and reports only the records that failed', async () => {
    const seen: string[] = [];
    const handler = handleChanges<User>(
      async (event) => {
        if (event.row?.name === 'Boom') throw new Error('downstream said no');
        seen.push(`${event.action}:${event.row!.email}`);
      },
      { logger: quiet() },
    );
    const input = sqsEvent([
      changeEvent<User>({ row: { id: 1, name: 'Ada', email: 'ada@example.com' } }),
      changeEvent<User>({ row: { id: 2, name: 'Boom', email: 'boom@example.com' } }),
      changeEvent<User>({ action: 'update', row: { id: 3, name: 'Cy', email: 'cy@example.com' } }),
    ]);
    const response = await handler(input);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: input.Records[1]!.messageId }]);
    expect(seen.sort()).toEqual(['insert:ada@example.com', 'update:cy@example.com']);
  });

  it('a body that is not a change event goes to the dead-letter queue instead of being retried', async () => {
    const handler = handleChanges(async () => undefined, { logger: quiet(), deadLetterQueueUrl, sqs: aws.resources.sqs });
    const response = await handler(sqsEvent(['not json', JSON.stringify({ id: 'x' }), changeEvent()]));
    expect(response.batchItemFailures).toEqual([]);
    const { Messages = [] } = await aws.resources.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages.map((message) => message.Body).sort()).toEqual(['not json', '{"id":"x"}']);
    for (const message of Messages)
      expect(message.MessageAttributes?.pgbridge_failure?.StringValue).toMatch(/not JSON|not a pgbridge change event/);
  });

  it('a body in the SNS envelope (a subscription without raw delivery) goes to the dead-letter queue with a hint to turn raw delivery on', async () => {
    const handler = handleChanges(async () => undefined, { logger: quiet(), deadLetterQueueUrl, sqs: aws.resources.sqs });
    const envelope = JSON.stringify({
      Type: 'Notification',
      MessageId: 'm-1',
      TopicArn: 'arn:aws:sns:us-east-1:000000000000:changes',
      Message: changeEvent(),
    });
    expect((await handler(sqsEvent([envelope]))).batchItemFailures).toEqual([]);
    const { Messages = [] } = await aws.resources.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages.map((message) => message.Body)).toEqual([envelope]);
    expect(Messages[0]!.MessageAttributes?.pgbridge_failure?.StringValue).toContain('raw message delivery (RawMessageDelivery: true)');
  });

  it('a PermanentFailure without a dead-letter queue URL is retried like any failure', async () => {
    const handler = handleChanges(
      () => {
        throw new PermanentFailure('refused');
      },
      { logger: quiet(), deadLetterQueueUrl: '' },
    );
    const input = sqsEvent([changeEvent()]);
    expect((await handler(input)).batchItemFailures).toEqual([{ itemIdentifier: input.Records[0]!.messageId }]);
  });

  it('on a FIFO queue, a failure holds back the rest of its group for a retry, keeping order, while other groups are handled', async () => {
    const handled: string[] = [];
    const handler = handleChanges(
      async (event) => {
        if (event.id === '2') throw new Error('not yet');
        handled.push(event.id);
      },
      { logger: quiet() },
    );
    const input = sqsEvent(
      ['1', '2', '3', '4'].map((id) => changeEvent({ id })),
      'arn:aws:sqs:us-east-1:000000000000:orders.fifo',
    );
    // Events 1-3 are one row's (one message group), event 4 another row's.
    for (const [index, record] of input.Records.entries())
      record.attributes.MessageGroupId = index < 3 ? 'public.orders:1' : 'public.orders:2';
    const response = await handler(input);
    expect(handled).toEqual(['1', '4']);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(
      input.Records.slice(1, 3).map((record) => record.messageId),
    );
  });
});
