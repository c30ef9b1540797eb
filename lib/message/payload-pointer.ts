/**
 * The large-payload format of AWS's extended client libraries for SNS and SQS (Java
 * payloadoffloading-common 2.x, amazon-sns/sqs-java-extended-client-lib, the Python
 * sns-extended-client): the body sits in S3, the message body is a pointer to it, and a Number
 * attribute carries the body's size in bytes. Those libraries recognise an offloaded message by
 * the attribute, so pgbridge messages offloaded this way are read by them unchanged.
 */

/** Set on every offloaded message; its value is the stored body's size in UTF-8 bytes. */
export const PAYLOAD_SIZE_ATTRIBUTE = 'ExtendedPayloadSize';
/** What version 1 of the Java libraries set instead; still recognised when reading. */
export const LEGACY_PAYLOAD_SIZE_ATTRIBUTE = 'SQSLargePayloadSize';

const POINTER_CLASS = 'software.amazon.payloadoffloading.PayloadS3Pointer';
/** The class name version 1 of the Java SQS library wrote (the Python one still can). */
const LEGACY_POINTER_CLASS = 'com.amazon.sqs.javamessaging.MessageS3Pointer';

export interface PayloadPointer {
  bucket: string;
  key: string;
}

/** The pointer as the Java library writes it (Jackson's type-wrapped array), which all of them read. */
export function payloadPointerBody(pointer: PayloadPointer): string {
  return JSON.stringify([POINTER_CLASS, { s3BucketName: pointer.bucket, s3Key: pointer.key }]);
}

/**
 * Reads a pointer body: the type-wrapped array (either class name), or the plain object that
 * version 1 of the Java libraries wrote. Throws an Error that quotes the body when it is neither.
 */
export function parsePayloadPointer(body: string): PayloadPointer {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const wrapped = Array.isArray(json) && json.length === 2 && [POINTER_CLASS, LEGACY_POINTER_CLASS].includes(json[0]);
  const fields: unknown = wrapped ? (json as unknown[])[1] : json;
  const { s3BucketName, s3Key } = (fields ?? {}) as { s3BucketName?: unknown; s3Key?: unknown };
  if (typeof s3BucketName !== 'string' || typeof s3Key !== 'string' || !s3BucketName || !s3Key) {
    throw new Error(`message has the ${PAYLOAD_SIZE_ATTRIBUTE} attribute but its body is not an S3 payload pointer: ${body.slice(0, 200)}`);
  }
  return { bucket: s3BucketName, key: s3Key };
}
