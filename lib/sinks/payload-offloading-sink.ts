import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { EntryOutcome, OutgoingMessage, Sink } from './sink.ts';

/**
 * A sink that stores the bodies of offloaded messages in S3 before handing the batch (with
 * pointers in their place) to the sink it wraps. A message whose object could not be stored is
 * not sent and is reported failed and retryable, like a refused publish: its event stays in the
 * outbox until both the object and the message were accepted. Batches without an offloaded
 * message pass straight through.
 */
export class PayloadOffloadingSink implements Sink {
  readonly description: string;
  readonly fifo: boolean;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  readonly maxBatchEntries: number;

  constructor(
    private readonly inner: Sink,
    private readonly s3: S3Client,
    readonly payloadBucket: string,
  ) {
    this.description = `${inner.description} (large rows to s3://${payloadBucket})`;
    this.fifo = inner.fifo;
    this.maxMessageBytes = inner.maxMessageBytes;
    this.maxBatchBytes = inner.maxBatchBytes;
    this.maxBatchEntries = inner.maxBatchEntries;
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<EntryOutcome[]> {
    if (!messages.some((message) => message.offloaded)) return this.inner.publishBatch(messages);
    const stored = await Promise.all(messages.map((message) => (message.offloaded ? this.store(message) : undefined)));
    const failures = stored.filter((outcome) => outcome !== undefined);
    const sendable = messages.filter((_, index) => stored[index] === undefined);
    // A batch may be only offloaded messages whose objects all failed: nothing left to publish.
    if (sendable.length === 0) return failures;
    return [...failures, ...(await this.inner.publishBatch(sendable))];
  }

  /** Undefined once stored; otherwise the failure, naming bucket and key. */
  private async store(message: OutgoingMessage): Promise<EntryOutcome | undefined> {
    const { bucket, key, body } = message.offloaded!;
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
      return undefined;
    } catch (error) {
      const { name, message: reason } = error as Error;
      return { id: message.id, ok: false, retryable: true, code: 'PayloadNotStored', message: `s3://${bucket}/${key}: ${name}: ${reason}` };
    }
  }
}
