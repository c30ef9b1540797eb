import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { batchOutcomes, sdkMessageAttributes, type EntryOutcome, type OutgoingMessage, type Sink } from './sink.ts';

/** SQS has accepted messages (and batches) up to 1 MiB since August 2025. */
const SQS_MAX_BYTES = 1_048_576;

/** The simplest setup: every event straight into one queue. */
export class SqsSink implements Sink {
  readonly description: string;
  readonly fifo: boolean;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes = SQS_MAX_BYTES;
  readonly maxBatchEntries = 10;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    maxMessageBytes = SQS_MAX_BYTES,
  ) {
    this.description = `sqs:${queueUrl}`;
    this.fifo = queueUrl.endsWith('.fifo');
    this.maxMessageBytes = Math.min(maxMessageBytes, SQS_MAX_BYTES);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<EntryOutcome[]> {
    const response = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: messages.map((message) => ({
          Id: message.id,
          MessageBody: message.body,
          MessageAttributes: sdkMessageAttributes(message),
          ...(this.fifo ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.id } : {}),
        })),
      }),
    );
    return batchOutcomes(response.Successful, response.Failed);
  }
}
