import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { batchOutcomes, stringAttributes, type EntryOutcome, type OutgoingMessage, type Sink } from './sink.ts';

/** SNS caps a message and a whole PublishBatch at 256 KiB (body plus attributes). */
const SNS_MAX_BYTES = 262_144;

export class SnsSink implements Sink {
  readonly description: string;
  readonly fifo: boolean;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes = SNS_MAX_BYTES;
  readonly maxBatchEntries = 10;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
    maxMessageBytes = SNS_MAX_BYTES,
  ) {
    this.description = `sns:${topicArn}`;
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
          MessageAttributes: stringAttributes(message.attributes),
          ...(this.fifo ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.id } : {}),
        })),
      }),
    );
    return batchOutcomes(response.Successful, response.Failed);
  }
}
