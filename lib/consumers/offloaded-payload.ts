import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { LEGACY_PAYLOAD_SIZE_ATTRIBUTE, PAYLOAD_SIZE_ATTRIBUTE, parsePayloadPointer } from '../message/payload-pointer.ts';

/**
 * The record as if its message had been sent whole: for a message whose body was offloaded to
 * S3 (a row too large for SNS), the body read from the object its pointer names, without the
 * size attribute — what AWS's extended client libraries hand their callers too. Other records
 * come back as they are, without a call to S3.
 *
 * An object that cannot be read (expired, deleted, no permission) throws an Error naming the
 * bucket and key: the record fails and is retried, then moved to the dead-letter queue by the
 * queue's redrive policy, pointer intact, so it is never dropped silently.
 */
export async function withOffloadedBody(record: SQSRecord, s3: () => S3Client): Promise<SQSRecord> {
  const attributes = record.messageAttributes ?? {};
  const marker = [PAYLOAD_SIZE_ATTRIBUTE, LEGACY_PAYLOAD_SIZE_ATTRIBUTE].find((name) => attributes[name] !== undefined);
  if (!marker) return record;
  const { bucket, key } = parsePayloadPointer(record.body);
  let body: string;
  try {
    const object = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = await object.Body!.transformToString('utf-8');
  } catch (error) {
    const { name, message } = error as Error;
    const hint = name === 'NoSuchKey' ? ' (expired or deleted: the bucket keeps bodies only for its expiry period)' : '';
    throw new Error(`message ${record.messageId}: its body s3://${bucket}/${key} could not be read: ${name}: ${message}${hint}`, {
      cause: error,
    });
  }
  const { [marker]: _size, ...rest } = attributes;
  return { ...record, body, messageAttributes: rest };
}
