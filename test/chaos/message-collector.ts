import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface CollectedEvent {
  id: string;
  key: number;
  action: string;
  value: number | undefined;
  label: string | null;
  /** Updates: the value before; with `coalesced`, before the first of the merged updates. */
  oldValue: number | undefined;
  coalesced: number | undefined;
}

/** Drains a queue continuously with a few concurrent receivers, recording every event. */
export class MessageCollector {
  readonly events: CollectedEvent[] = [];
  readonly counts = new Map<string, number>();
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly receivers = 4,
  ) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.receivers }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  get distinct(): number {
    return this.counts.size;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        for (const message of Messages) {
          const event = JSON.parse(message.Body!);
          this.counts.set(event.id, (this.counts.get(event.id) ?? 0) + 1);
          this.events.push({
            id: event.id,
            key: event.key?.id,
            action: event.action,
            value: event.row?.value,
            label: event.label,
            oldValue: event.old?.value,
            coalesced: event.coalesced,
          });
        }
        if (Messages.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
          }),
        );
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
