import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SnsSink } from './sns-sink.ts';
import { batchOutcomes, stringAttributes, type EntryOutcome, type OutgoingMessage, type Sink } from './sink.ts';

/**
 * The same PublishBatch calls as SnsSink, through the AWS SDK's `PublishBatchCommand`: about
 * twice the CPU per event. `PGBRIDGE_SNS_CLIENT=sdk` selects it, as a way out should AWS ever
 * answer the hand-built Query client differently than its tests expect; the benchmark uses it
 * to show that client's gain within one run.
 */
export class SdkSnsSink implements Sink {
  readonly description: string;
  readonly fifo: boolean;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  readonly maxBatchEntries: number;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
    maxMessageBytes?: number,
  ) {
    const limits = new SnsSink(client, topicArn, maxMessageBytes);
    this.description = `${limits.description} (AWS SDK client)`;
    this.fifo = limits.fifo;
    this.maxMessageBytes = limits.maxMessageBytes;
    this.maxBatchBytes = limits.maxBatchBytes;
    this.maxBatchEntries = limits.maxBatchEntries;
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<EntryOutcome[]> {
    const response = await this.client.send(
      new PublishBatchCommand({
        TopicArn: this.topicArn,
        PublishBatchRequestEntries: messages.map((message) => ({
          Id: message.id,
          Message: message.body,
          MessageAttributes: stringAttributes(message.attributes),
          ...(this.fifo ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.id } : {}),
        })),
      }),
    );
    return batchOutcomes(response.Successful, response.Failed);
  }
}
