import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SnsSink } from '../../lib/sinks/sns-sink.ts';
import { batchOutcomes, stringAttributes, type EntryOutcome, type OutgoingMessage, type Sink } from '../../lib/sinks/sink.ts';

/**
 * The same PublishBatch calls through the AWS SDK's `PublishBatchCommand`: what the listener did
 * before its hand-built Query client (lib/aws/), kept here to show that client's gain in one run.
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
  ) {
    const limits = new SnsSink(client, topicArn);
    this.description = `sdk-${limits.description}`;
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
