import { BatchProcessor, EventType, processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventOf } from '../message/change-event.ts';
import { withOffloadedBody } from './offloaded-payload.ts';
import { parseChangeEvent } from './change-event-parser.ts';
import { sendToDeadLetterQueue } from './dead-letter-queue.ts';
import { PermanentFailure } from './permanent-failure.ts';
import { delayFifoRetries, delayRetry, retryBackoffFromEnvironment, type RetryBackoff } from './retry-backoff.ts';

/** `RowOrEvent`: a row type (the handler gets `ChangeEvent<Row>`) or an event union from `pgbridge types`. */
export type ChangeHandler<RowOrEvent> = (event: EventOf<RowOrEvent>, record: SQSRecord) => Promise<void> | void;
export type SqsBatchHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

export interface HandleChangesOptions {
  /** @default a Powertools JSON logger named after POWERTOOLS_SERVICE_NAME */
  logger?: Logger;
  /**
   * Where a PermanentFailure goes at once. Without it, a permanent failure is retried like any
   * other until the queue's redrive policy moves it.
   * @default process.env.PGBRIDGE_DEAD_LETTER_QUEUE_URL (set by the CDK consumer constructs)
   */
  deadLetterQueueUrl?: string;
  /** @default an SQSClient for the function's region */
  sqs?: SQSClient;
  /** Reads the bodies of rows offloaded to S3. @default an S3Client for the function's region */
  s3?: S3Client;
  /**
   * The queue the records come from: a failed record is hidden there for its backoff delay
   * (`retryBackoff`). Without it, a failed record comes back after the queue's visibility timeout.
   * @default process.env.PGBRIDGE_QUEUE_URL (set by the CDK consumer constructs)
   */
  queueUrl?: string;
  /** @default from PGBRIDGE_RETRY_FIRST_DELAY_SECONDS / PGBRIDGE_RETRY_MAX_DELAY_SECONDS, else 10 s doubling up to 15 minutes */
  retryBackoff?: RetryBackoff;
}

/**
 * A Lambda handler for an SQS queue subscribed to the pgbridge topic: each record is parsed into a
 * `ChangeEvent<Row>` (or, given the `PgBridgeEvent` union that `pgbridge types` writes, one of its
 * members) and given to `handler`; records whose handler throws are reported as batch item
 * failures, so only they are retried, not their batch mates (the event source mapping must have
 * `reportBatchItemFailures`, which the constructs set). On a FIFO queue, a failure skips the
 * rest of its message group in the batch (retried with it, keeping the group's order); other
 * groups are processed. A row the
 * listener offloaded to S3 (too large for SNS) is read from there first: `handler` gets the whole
 * event, and `record.body` is the whole body, as if it had fit in the message.
 *
 * @example
 * export const handler = handleChanges<User>(async (event) => {
 *   if (event.action === 'insert') await welcome(event.row!.email);
 * });
 * @example
 * // PgBridgeEvent: written by `pgbridge types --out src/pgbridge-events.ts`
 * export const handler = handleChanges<PgBridgeEvent>(async (event) => {
 *   if (event.table === 'users' && event.action === 'insert' && !event.truncated) await welcome(event.row.email);
 * });
 */
export function handleChanges<RowOrEvent = Record<string, unknown>>(
  handler: ChangeHandler<RowOrEvent>,
  options: HandleChangesOptions = {},
): SqsBatchHandler {
  const logger = options.logger ?? new Logger();
  const deadLetterQueueUrl = options.deadLetterQueueUrl ?? process.env.PGBRIDGE_DEAD_LETTER_QUEUE_URL;
  const retry = retryBackoffFromEnvironment(process.env);
  const queueUrl = options.queueUrl ?? retry.queueUrl;
  const retryBackoff = options.retryBackoff ?? retry.backoff;
  let sqs = options.sqs;
  let s3 = options.s3;
  // Created on first use: most invocations need neither client.
  const s3Client = () => {
    s3 ??= new S3Client({ followRegionRedirects: true });
    return s3;
  };
  const sqsClient = () => {
    sqs ??= new SQSClient({});
    return sqs;
  };

  const processRecord = async (record: SQSRecord): Promise<void> => {
    try {
      // A row offloaded to S3 reaches the handler whole, as if it had fit in the message. The
      // parser checks the envelope; the row's shape is the type argument's promise.
      const whole = await withOffloadedBody(record, s3Client);
      await handler(parseChangeEvent(whole.body) as EventOf<RowOrEvent>, whole);
    } catch (error) {
      if (!(error instanceof PermanentFailure) || !deadLetterQueueUrl) {
        const retryInSeconds = queueUrl ? await delayRetry(sqsClient(), queueUrl, record, retryBackoff) : undefined;
        logger.warn('change failed; it will be retried', { messageId: record.messageId, error: (error as Error).message, retryInSeconds });
        throw error;
      }
      await sendToDeadLetterQueue(sqsClient(), deadLetterQueueUrl, record, error.message);
      logger.warn('change rejected; moved to the dead-letter queue', { messageId: record.messageId, reason: error.message });
    }
  };

  return async (event, context) => {
    // A fully failed batch is reported record by record rather than thrown: the same retry, without
    // an invocation error in the metrics for what is an ordinary downstream outage.
    const options = { context, throwOnFullBatchFailure: false };
    if (event.Records[0]?.eventSourceARN.endsWith('.fifo')) {
      // A failure holds back the rest of its own group (order), not the other groups of the batch.
      const response = await processPartialResponse(event, processRecord, new SqsFifoPartialProcessorAsync(), {
        ...options,
        skipGroupOnError: true,
      });
      if (queueUrl) {
        const failedIds = response.batchItemFailures.map((failure) => failure.itemIdentifier);
        await delayFifoRetries(sqsClient(), queueUrl, event.Records, failedIds, retryBackoff);
      }
      return response;
    }
    return processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), options);
  };
}
