import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/**
 * Copies a record to the consumer's dead-letter queue with the reason attached, keeping its body
 * and attributes so that a redrive replays exactly what arrived.
 */
export async function sendToDeadLetterQueue(sqs: SQSClient, queueUrl: string, record: SQSRecord, reason: string): Promise<void> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (value.stringValue !== undefined) attributes[name] = { DataType: value.dataType, StringValue: value.stringValue };
  }
  // Truncated so that a long error text cannot push the copy over the SQS message size limit.
  attributes.pgbridge_failure = { DataType: 'String', StringValue: reason.slice(0, 1000) };
  const fifo = queueUrl.endsWith('.fifo');
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: record.body,
      MessageAttributes: attributes,
      ...(fifo ? { MessageGroupId: record.attributes.MessageGroupId ?? 'pgbridge', MessageDeduplicationId: record.messageId } : {}),
    }),
  );
}
