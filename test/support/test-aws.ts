import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { AwsResources } from '../../lib/local/aws-resources.ts';
import { startLocalSnsSqs } from '../../lib/local/local-sns-sqs.ts';

export interface TestAws {
  endpoint: string;
  resources: AwsResources;
  /** A new unique name on every call, so tests (and files sharing one LocalStack) never share a queue. */
  name(base: string): string;
  stop(): Promise<void>;
}

/** LocalStack (or any endpoint) when AWS_ENDPOINT_URL is set, else the npm emulator. */
export async function startTestAws(): Promise<TestAws> {
  const prefix = randomBytes(3).toString('hex');
  let counter = 0;
  const name = (base: string) => {
    const unique = `${prefix}-${++counter}`;
    return base.endsWith('.fifo') ? `${base.slice(0, -5)}-${unique}.fifo` : `${base}-${unique}`;
  };
  if (process.env.AWS_ENDPOINT_URL) {
    const resources = new AwsResources(process.env.AWS_ENDPOINT_URL);
    return { endpoint: process.env.AWS_ENDPOINT_URL, resources, name, stop: async () => resources.destroy() };
  }
  const emulator = await startLocalSnsSqs();
  const resources = new AwsResources(emulator.endpoint);
  return {
    endpoint: emulator.endpoint,
    resources,
    name,
    async stop() {
      resources.destroy();
      await emulator.stop();
    },
  };
}

export interface ReceivedMessage {
  body: string;
  event: any;
  attributes: Record<string, string>;
  groupId?: string;
}

/**
 * Receives (and deletes) messages until `count` have arrived or `timeoutMs` passed; returns what
 * arrived, so a test can assert on exact counts. With `settleMs`, keeps listening that much
 * longer to catch messages that should not be there.
 */
export async function receiveMessages(
  aws: TestAws,
  queueUrl: string,
  {
    count,
    timeoutMs = 15_000,
    settleMs = 0,
    distinct,
  }: {
    count: number;
    timeoutMs?: number;
    settleMs?: number;
    /**
     * Count distinct values of this instead of messages (at-least-once: duplicates may come);
     * messages it maps to undefined do not count.
     */
    distinct?: (message: ReceivedMessage) => unknown;
  },
): Promise<ReceivedMessage[]> {
  const received: ReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  let settleUntil = Infinity;
  while (Date.now() < Math.min(deadline, settleUntil)) {
    const { Messages = [] } = await aws.resources.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    for (const message of Messages) {
      const attributes: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) attributes[name] = value.StringValue!;
      received.push({ body: message.Body!, event: JSON.parse(message.Body!), attributes, groupId: message.Attributes?.MessageGroupId });
    }
    if (Messages.length > 0) {
      await aws.resources.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    } else {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const arrived = distinct ? new Set(received.map(distinct).filter((value) => value !== undefined)).size : received.length;
    if (arrived >= count && settleUntil === Infinity) settleUntil = Date.now() + settleMs;
  }
  return received;
}
