import { ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { readEnvironment } from './consumer-environment.ts';

/**
 * How long a failed record stays invisible before its next receive: `firstDelaySeconds` after the
 * first failure, doubling per receive up to `maxDelaySeconds`. A target that is down for hours
 * then costs a few receives an hour instead of emptying the queue into the dead-letter queue.
 */
export interface RetryBackoff {
  readonly firstDelaySeconds: number;
  readonly maxDelaySeconds: number;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { firstDelaySeconds: 10, maxDelaySeconds: 900 };

/** SQS's limit for a message's visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** The wait after receive number `receiveCount` failed. */
export function retryDelaySeconds(receiveCount: number, backoff: RetryBackoff): number {
  const exponent = Math.min(Math.max(receiveCount - 1, 0), 30);
  return Math.min(backoff.firstDelaySeconds * 2 ** exponent, backoff.maxDelaySeconds);
}

/** How long a record is retried when the queue allows `maxReceiveCount` receives: the waits between them. */
export function retryWindowSeconds(maxReceiveCount: number, backoff: RetryBackoff): number {
  let total = 0;
  for (let receive = 1; receive < maxReceiveCount; receive++) total += retryDelaySeconds(receive, backoff);
  return total;
}

/** The fewest receives whose waits add up to at least `windowSeconds`. */
export function receivesForRetryWindow(windowSeconds: number, backoff: RetryBackoff): number {
  let receives = 1;
  let total = 0;
  while (total < windowSeconds) total += retryDelaySeconds(receives++, backoff);
  return receives;
}

/**
 * Hides a record that just failed for its backoff delay. The event source mapping leaves
 * records reported in `batchItemFailures` untouched, so this visibility is what decides when it
 * is received again. Never throws: if the change fails, the queue's own visibility timeout applies.
 */
export async function delayRetry(sqs: SQSClient, queueUrl: string, record: SQSRecord, backoff: RetryBackoff): Promise<number | undefined> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const delaySeconds = retryDelaySeconds(receiveCount, backoff);
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: delaySeconds }),
    );
    return delaySeconds;
  } catch {
    return undefined;
  }
}

/**
 * FIFO: after a record fails, the records of its group behind it in the batch are reported
 * failed without being tried (other groups go on). Left alone they would come back after the
 * queue's visibility timeout, and SQS returns none of the group while one of them is in flight,
 * so the group would wait for the longer of the two. They get the failed record's backoff
 * instead: the group comes back together, in order. Never throws, as `delayRetry`.
 */
export async function delayFifoRetries(
  sqs: SQSClient,
  queueUrl: string,
  records: SQSRecord[],
  failedIds: string[],
  backoff: RetryBackoff,
): Promise<void> {
  const failed = new Set(failedIds);
  const delayByGroup = new Map<string | undefined, number>();
  const entries = [];
  for (const record of records) {
    if (!failed.has(record.messageId)) continue;
    const group = record.attributes.MessageGroupId;
    // The group's first failure is the record that was tried; the rest follow its backoff.
    if (!delayByGroup.has(group))
      delayByGroup.set(group, retryDelaySeconds(Number(record.attributes.ApproximateReceiveCount) || 1, backoff));
    entries.push({ Id: String(entries.length), ReceiptHandle: record.receiptHandle, VisibilityTimeout: delayByGroup.get(group)! });
  }
  if (entries.length === 0) return;
  await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries })).catch(() => undefined);
}

const seconds = z.coerce.number().int().min(0).max(MAX_VISIBILITY_SECONDS);
const environmentSchema = z.object({
  PGBRIDGE_QUEUE_URL: z.string().min(1).optional(),
  PGBRIDGE_RETRY_FIRST_DELAY_SECONDS: seconds.default(DEFAULT_RETRY_BACKOFF.firstDelaySeconds),
  PGBRIDGE_RETRY_MAX_DELAY_SECONDS: seconds.default(DEFAULT_RETRY_BACKOFF.maxDelaySeconds),
});

/** The consumer's own queue and backoff, as the CDK constructs set them in the function's environment. */
export function retryBackoffFromEnvironment(env: NodeJS.ProcessEnv): { queueUrl?: string; backoff: RetryBackoff } {
  const settings = readEnvironment(environmentSchema, env, 'retry');
  return {
    queueUrl: settings.PGBRIDGE_QUEUE_URL,
    backoff: { firstDelaySeconds: settings.PGBRIDGE_RETRY_FIRST_DELAY_SECONDS, maxDelaySeconds: settings.PGBRIDGE_RETRY_MAX_DELAY_SECONDS },
  };
}
