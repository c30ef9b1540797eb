import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SNS_MAX_BATCH_ENTRIES, SNS_MAX_BYTES } from './sns-sink.ts';
import { batchOutcomes, sdkMessageAttributes, type EntryOutcome, type OutgoingMessage, type Sink } from './sink.ts';

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
  readonly maxBatchBytes = SNS_MAX_BYTES;
  readonly maxBatchEntries = SNS_MAX_BATCH_ENTRIES;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
    maxMessageBytes = SNS_MAX_BYTES,
  ) {
    this.description = `sns:${topicArn} (AWS SDK client)`;
    this.fifo = topicArn.endsWith('.fifo');
    this.maxMessageBytes = Math.min(maxMessageBytes, SNS_MAX_BYTES);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<EntryOutcome[]> {
    const response = await this.client.send(
      new PublishBatchCommand({
        TopicArn: this.topicArn,
        PublishBatchRequestEntries: messages.map((message) => ({
          Id: message.id,
          Message: message.body,
          MessageAttributes: sdkMessageAttributes(message),
          ...(this.fifo ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.id } : {}),
        })),
      }),
    );
    return batchOutcomes(response.Successful, response.Failed);
  }
}
