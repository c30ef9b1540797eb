/** One message ready to hand to SNS or SQS. */
export interface OutgoingMessage {
  /** The event id; also the batch entry id and, on FIFO, the deduplication id. */
  id: string;
  body: string;
  attributes: Record<string, string>;
  /** Attributes of type Number; only offloaded messages have one (their payload size). */
  numberAttributes?: Record<string, string>;
  /** FIFO only. */
  groupId?: string;
  /** The whole body, to be stored in S3 before this message (a pointer to it) is sent. */
  offloaded?: OffloadedBody;
}

export interface OffloadedBody {
  bucket: string;
  key: string;
  body: string;
}

export type EntryOutcome =
  | { id: string; ok: true }
  | {
      id: string;
      ok: false;
      /** False when the sink rejected the content itself: a retry would be rejected again. */
      retryable: boolean;
      code: string;
      message: string;
    };

/** Where events go. `publishBatch` throws only when the call as a whole failed. */
export interface Sink {
  readonly description: string;
  readonly fifo: boolean;
  /** Largest single message, body plus attributes, in bytes. */
  readonly maxMessageBytes: number;
  /** Largest sum of message sizes in one batch call. */
  readonly maxBatchBytes: number;
  readonly maxBatchEntries: number;
  /**
   * With a bucket, a message over `maxMessageBytes` is stored there and sent as a pointer (the
   * format of AWS's extended client libraries) instead of truncated.
   */
  readonly payloadBucket?: string;
  publishBatch(messages: OutgoingMessage[]): Promise<EntryOutcome[]>;
}

/** Size as AWS counts it: body plus, per attribute, name, data type and value, all UTF-8. */
export function messageSize(body: string, attributes: Record<string, string>, numberAttributes?: Record<string, string>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + 'String'.length + Buffer.byteLength(value, 'utf8');
  }
  if (numberAttributes) {
    for (const [name, value] of Object.entries(numberAttributes)) size += Buffer.byteLength(name, 'utf8') + 'Number'.length + value.length;
  }
  return size;
}

// Error codes AWS reports with SenderFault=true that still succeed on retry.
const TRANSIENT_SENDER_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'TooManyRequestsException',
  'KMSThrottling',
  'KMSThrottlingException',
]);

export function isRetryableEntryFailure(code: string | undefined, senderFault: boolean | undefined): boolean {
  return !senderFault || TRANSIENT_SENDER_CODES.has(code ?? '');
}

/** A message's attributes in the SDK's shape (SNS and SQS share it). */
export function sdkMessageAttributes(message: OutgoingMessage): Record<string, { DataType: 'String' | 'Number'; StringValue: string }> {
  const result: Record<string, { DataType: 'String' | 'Number'; StringValue: string }> = {};
  for (const [name, value] of Object.entries(message.attributes)) result[name] = { DataType: 'String', StringValue: value };
  if (message.numberAttributes) {
    for (const [name, value] of Object.entries(message.numberAttributes)) result[name] = { DataType: 'Number', StringValue: value };
  }
  return result;
}

/** The per-entry result of an SNS PublishBatch or SQS SendMessageBatch response. */
export function batchOutcomes(
  successful: { Id?: string }[] | undefined,
  failed: { Id?: string; Code?: string; Message?: string; SenderFault?: boolean }[] | undefined,
): EntryOutcome[] {
  const outcomes: EntryOutcome[] = (successful ?? []).map((entry) => ({ id: entry.Id!, ok: true }));
  for (const entry of failed ?? []) {
    outcomes.push({
      id: entry.Id!,
      ok: false,
      retryable: isRetryableEntryFailure(entry.Code, entry.SenderFault),
      code: entry.Code ?? 'Unknown',
      message: entry.Message ?? '',
    });
  }
  return outcomes;
}
