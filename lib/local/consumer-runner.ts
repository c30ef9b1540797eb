import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { EventEmitter } from 'node:events';
import { toSqsEvent } from './sqs-lambda-event.ts';

// biome-ignore lint/suspicious/noConfusingVoidType: a Lambda SQS handler may return nothing, as aws-lambda's own SQSHandler type allows.
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface ConsumerRunnerOptions {
  /** Name in events and logs, e.g. the consumer id. */
  name: string;
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  /** @default 10 */
  batchSize?: number;
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  region?: string;
}

export interface ConsumerRunnerEvents {
  /** A batch was handled: how many records, and the ids the handler reported as failed. */
  batch: [{ records: number; failed: string[] }];
  /**
   * Something Lambda would log: receiving failed, the handler threw or answered what Lambda treats
   * as a failed batch, or handled messages could not be deleted (they will be delivered again).
   * Not named `error`: an EventEmitter throws an unlistened `error` event and would end the process.
   */
  failure: [Error];
}

/**
 * Lambda's SQS event source, locally: receives up to `batchSize` messages, invokes the handler
 * with the same event shape, and deletes what succeeded. Records listed in `batchItemFailures`
 * stay in the queue and come back after the visibility timeout; the queue's redrive policy moves
 * them to its dead-letter queue after maxReceiveCount receives, as in AWS.
 */
export class ConsumerRunner extends EventEmitter<ConsumerRunnerEvents> {
  private running = false;
  private loop?: Promise<void>;

  constructor(private readonly options: ConsumerRunnerOptions) {
    super();
  }

  start(): void {
    this.running = true;
    this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async poll(): Promise<void> {
    const { sqs, queueUrl } = this.options;
    while (this.running) {
      let messages: Message[];
      try {
        ({ Messages: messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(this.options.batchSize ?? 10, 10),
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        ));
      } catch (error) {
        if (!this.running) return;
        this.emit('failure', error as Error);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (messages.length > 0) await this.invoke(messages);
    }
  }

  private async invoke(messages: Message[]): Promise<void> {
    const { name, queueArn, handler } = this.options;
    const event = toSqsEvent(messages, queueArn, this.options.region ?? process.env.AWS_REGION ?? 'us-east-1');
    let failed: Set<string>;
    try {
      const response = await handler(event, localContext(name));
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      const known = new Set(event.Records.map((record) => record.messageId));
      // Lambda treats a failure id that is empty or not in the batch as "the whole batch failed".
      if ([...failed].some((id) => !id || !known.has(id))) {
        failed = known;
        this.emit('failure', new Error(`${name}: batchItemFailures names a message that is not in the batch; the whole batch is retried`));
      }
    } catch (error) {
      this.emit('failure', error as Error);
      return;
    }
    const done = messages.filter((message) => !failed.has(message.MessageId!));
    if (done.length > 0) await this.deleteHandled(done);
    this.emit('batch', { records: messages.length, failed: [...failed] });
  }

  private async deleteHandled(messages: Message[]): Promise<void> {
    const { name, sqs, queueUrl } = this.options;
    const again = `${name}: handled message(s) could not be deleted and will be delivered again`;
    try {
      const { Failed = [] } = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
      if (Failed.length > 0) {
        const reasons = Failed.map((entry) => `${messages[Number(entry.Id)]?.MessageId}: ${entry.Code} ${entry.Message ?? ''}`.trim());
        this.emit('failure', new Error(`${again} (${reasons.join('; ')})`));
      }
    } catch (error) {
      this.emit('failure', new Error(`${again}: ${(error as Error).message}`, { cause: error }));
    }
  }
}

function localContext(name: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
