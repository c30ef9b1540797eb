import { BatchProcessor, EventType, processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ChangeEvent } from '../message/change-event.ts';
import { parseChangeEvent } from './change-event-parser.ts';
import { sendToDeadLetterQueue } from './dead-letter-queue.ts';
import { PermanentFailure } from './permanent-failure.ts';
import { delayFifoRetries, delayRetry, retryBackoffFromEnvironment, type RetryBackoff } from './retry-backoff.ts';

export type ChangeHandler<Row> = (event: ChangeEvent<Row>, record: SQSRecord) => Promise<void> | void;
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
 * `ChangeEvent<Row>` and given to `handler`; records whose handler throws are reported as batch
 * item failures, so only they are retried, not their batch mates (the event source mapping must
 * have `reportBatchItemFailures`, which the constructs set). On a FIFO queue, a failure skips the
 * rest of its message group in the batch (retried with it, keeping the group's order); other
 * groups are processed.
 *
 * @example
 * export const handler = handleChanges<User>(async (event) => {
 *   if (event.action === 'insert') await welcome(event.row!.email);
 * });
 */
export function handleChanges<Row = Record<string, unknown>>(handler: ChangeHandler<Row>, options: HandleChangesOptions = {}): SqsBatchHandler {
  const logger = options.logger ?? new Logger();
  const deadLetterQueueUrl = options.deadLetterQueueUrl ?? process.env.PGBRIDGE_DEAD_LETTER_QUEUE_URL;
  const retry = retryBackoffFromEnvironment(process.env);
  const queueUrl = options.queueUrl ?? retry.queueUrl;
  const retryBackoff = options.retryBackoff ?? retry.backoff;
  let sqs = options.sqs;

  const processRecord = async (record: SQSRecord): Promise<void> => {
    try {
      await handler(parseChangeEvent<Row>(record.body), record);
    } catch (error) {
      if (!(error instanceof PermanentFailure) || !deadLetterQueueUrl) {
        const retryInSeconds = queueUrl ? await delayRetry((sqs ??= new SQSClient({})), queueUrl, record, retryBackoff) : undefined;
        logger.warn('change failed; it will be retried', { messageId: record.messageId, error: (error as Error).message, retryInSeconds });
        throw error;
      }
      sqs ??= new SQSClient({});
      await sendToDeadLetterQueue(sqs, deadLetterQueueUrl, record, error.message);
      logger.warn('change rejected; moved to the dead-letter queue', { messageId: record.messageId, reason: error.message });
    }
  };

  return async (event, context) => {
    // A fully failed batch is reported record by record rather than thrown: the same retry, without
    // an invocation error in the metrics for what is an ordinary downstream outage.
    const options = { context, throwOnFullBatchFailure: false };
    if (event.Records[0]?.eventSourceARN.endsWith('.fifo')) {
      // A failure holds back the rest of its own group (order), not the other groups of the batch.
      const response = await processPartialResponse(event, processRecord, new SqsFifoPartialProcessorAsync(), { ...options, skipGroupOnError: true });
      if (queueUrl) {
        const failedIds = response.batchItemFailures.map((failure) => failure.itemIdentifier);
        await delayFifoRetries((sqs ??= new SQSClient({})), queueUrl, event.Records, failedIds, retryBackoff);
      }
      return response;
    }
    return processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), options);
  };
}
