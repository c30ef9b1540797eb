import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

// Every benchmark row carries the writer's clock in `sent_at`; the naive body is the row itself,
// pgbridge's has it under "row". Reading it with a regex works for both without parsing.
const SENT_AT = /"sent_at":(\d+(?:\.\d+)?)/;

/** The queue a consumer reads: where "end to end" ends. */
export class ConsumerQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly url: string,
  ) {}

  async count(): Promise<number> {
    const { Attributes } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  async purge(): Promise<void> {
    await this.sqs.send(new PurgeQueueCommand({ QueueUrl: this.url }));
  }

  /** Polls until `expected` messages are in the queue; returns when the last one arrived. */
  async waitForCount(expected: number, timeoutMs: number, assertProducing: () => void = () => {}): Promise<{ count: number; at: number }> {
    const deadline = Date.now() + timeoutMs;
    let count = 0;
    while (Date.now() < deadline) {
      assertProducing();
      count = await this.count();
      if (count >= expected) return { count, at: Date.now() };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { count, at: Date.now() };
  }

  /**
   * Long-polls with several receivers, as a consumer would, and records for each message the
   * delay from the writer's clock to its arrival here. Messages are left invisible rather than
   * deleted (the queue is purged between runs), so deleting costs the shared CPU nothing;
   * `deleteReceived` deletes them instead, for runs long enough that the emulator would
   * otherwise hold millions of messages.
   */
  startReceiving(receivers = 4, { deleteReceived = false } = {}): { delays: number[]; stop: () => Promise<void> } {
    const delays: number[] = [];
    let stopping = false;
    const loops = Array.from({ length: receivers }, async () => {
      while (!stopping) {
        const { Messages } = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: this.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 600 }),
        );
        const now = Date.now();
        for (const message of Messages ?? []) {
          const sentAt = SENT_AT.exec(message.Body ?? '');
          if (sentAt) delays.push(now - Number(sentAt[1]));
        }
        if (deleteReceived && Messages && Messages.length > 0) await this.deleteAll(Messages);
      }
    });
    return {
      delays,
      stop: async () => {
        stopping = true;
        await Promise.all(loops);
      },
    };
  }

  /**
   * Long-polls like `startReceiving` but keeps every body with its arrival time and deletes what
   * it received: a FIFO queue hands out a message group's next message only once the previous
   * one is deleted, so per group the bodies are kept in the queue's order.
   */
  startCollecting(receivers = 4): { messages: ReceivedMessage[]; stop: () => Promise<void> } {
    const messages: ReceivedMessage[] = [];
    let stopping = false;
    const loops = Array.from({ length: receivers }, async () => {
      while (!stopping) {
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: this.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        const receivedAt = Date.now();
        for (const message of Messages) messages.push({ body: message.Body ?? '', receivedAt });
        if (Messages.length > 0) await this.deleteAll(Messages);
      }
    });
    return {
      messages,
      stop: async () => {
        stopping = true;
        await Promise.all(loops);
      },
    };
  }

  private async deleteAll(messages: Message[]): Promise<void> {
    await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.url,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
  }
}

export interface ReceivedMessage {
  body: string;
  receivedAt: number;
}
