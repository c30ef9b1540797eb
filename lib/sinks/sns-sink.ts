import type { SNSClient } from '@aws-sdk/client-sns';
import { queryForm, xmlListMembers, xmlText } from '../aws/query-protocol.ts';
import { SnsQueryClient } from '../aws/sns-query-client.ts';
import { isRetryableEntryFailure, type EntryOutcome, type OutgoingMessage, type Sink } from './sink.ts';

/** SNS caps a message and a whole PublishBatch at 256 KiB (body plus attributes). */
export const SNS_MAX_BYTES = 262_144;
export const SNS_MAX_BATCH_ENTRIES = 10;

export class SnsSink implements Sink {
  readonly description: string;
  readonly fifo: boolean;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes = SNS_MAX_BYTES;
  readonly maxBatchEntries = SNS_MAX_BATCH_ENTRIES;
  private readonly sns: SnsQueryClient;

  constructor(
    client: SNSClient,
    private readonly topicArn: string,
    maxMessageBytes = SNS_MAX_BYTES,
  ) {
    this.description = `sns:${topicArn}`;
    this.fifo = topicArn.endsWith('.fifo');
    this.maxMessageBytes = Math.min(maxMessageBytes, SNS_MAX_BYTES);
    this.sns = new SnsQueryClient(client);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<EntryOutcome[]> {
    const xml = await this.sns.call(publishBatchForm(this.topicArn, messages, this.fifo));
    if (!xml.includes('<PublishBatchResult')) throw new Error(`SNS PublishBatch: unexpected answer: ${xml.slice(0, 200)}`);
    return publishBatchOutcomes(xml);
  }
}

/** The PublishBatch request in the Query protocol (API version 2010-03-31). */
export function publishBatchForm(topicArn: string, messages: OutgoingMessage[], fifo: boolean): string {
  const params: [string, string][] = [
    ['Action', 'PublishBatch'],
    ['Version', '2010-03-31'],
    ['TopicArn', topicArn],
  ];
  messages.forEach((message, index) => {
    const entry = `PublishBatchRequestEntries.member.${index + 1}`;
    params.push([`${entry}.Id`, message.id], [`${entry}.Message`, message.body]);
    let attributeIndex = 0;
    for (const [name, value] of Object.entries(message.attributes)) {
      const attribute = `${entry}.MessageAttributes.entry.${++attributeIndex}`;
      params.push([`${attribute}.Name`, name], [`${attribute}.Value.DataType`, 'String'], [`${attribute}.Value.StringValue`, value]);
    }
    if (message.numberAttributes) {
      for (const [name, value] of Object.entries(message.numberAttributes)) {
        const attribute = `${entry}.MessageAttributes.entry.${++attributeIndex}`;
        params.push([`${attribute}.Name`, name], [`${attribute}.Value.DataType`, 'Number'], [`${attribute}.Value.StringValue`, value]);
      }
    }
    if (fifo) params.push([`${entry}.MessageDeduplicationId`, message.id], [`${entry}.MessageGroupId`, message.groupId!]);
  });
  return queryForm(params);
}

/** Per-entry results of a PublishBatch answer (`Successful` and `Failed` member lists). */
export function publishBatchOutcomes(xml: string): EntryOutcome[] {
  const outcomes: EntryOutcome[] = xmlListMembers(xml, 'Successful').map((member) => ({ id: xmlText(member, 'Id')!, ok: true }));
  for (const member of xmlListMembers(xml, 'Failed')) {
    const code = xmlText(member, 'Code');
    outcomes.push({
      id: xmlText(member, 'Id')!,
      ok: false,
      retryable: isRetryableEntryFailure(code, xmlText(member, 'SenderFault') === 'true'),
      code: code ?? 'Unknown',
      message: xmlText(member, 'Message') ?? '',
    });
  }
  return outcomes;
}
