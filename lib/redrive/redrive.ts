import { GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../errors.ts';
import { redriveInBatches } from './batch-redrive.ts';
import { deadLetterSourceQueues } from './dead-letter-sources.ts';
import { moveTaskSupport, redriveWithMoveTask } from './move-task.ts';
import { queueName, type Queue } from './queue.ts';
import { resolveQueue } from './queue-reference.ts';
import type { RedriveProgress, RedriveResult } from './redrive-progress.ts';

/** What a redrive will do, worked out before anything moves; `--dry-run` prints it. */
export interface RedrivePlan {
  from: Queue;
  to: Queue;
  method: RedriveResult['method'];
  /** Messages waiting in the dead-letter queue (approximate, as SQS counts). */
  waiting: number;
  /** Messages received from it by someone else and not yet deleted; they are not moved. */
  inFlight: number;
}

export interface RedriveOptions {
  signal?: AbortSignal;
  /**
   * At most this many messages a second on average (1-500, SQS's range for move tasks), so a
   * consumer that just recovered is not flooded. @default as fast as SQS goes
   */
  maxPerSecond?: number;
  onProgress?: (progress: RedriveProgress) => void;
  /** How often a move task's progress is read. @default 1000 */
  pollIntervalMs?: number;
  /** How long the batch path hides a received message. @default 300 */
  visibilityTimeoutSeconds?: number;
}

/**
 * Finds the dead-letter queue and where its messages go: `to` when given, else the one queue
 * whose redrive policy names it. The move task needs that redrive policy and an endpoint that
 * runs it; otherwise the messages move in batches.
 */
export async function planRedrive(sqs: SQSClient, deadLetterQueue: string, to?: string): Promise<RedrivePlan> {
  const from = await resolveQueue(sqs, deadLetterQueue, 'dead-letter queue');
  const sources = await deadLetterSourceQueues(sqs, from);
  const target = to ? await resolveQueue(sqs, to, 'target queue') : await onlySource(sqs, from, sources);
  if (target.arn === from.arn)
    throw new ConfigError(`--to ${to} is the dead-letter queue itself: name the queue its messages should go back to`);
  if (target.fifo !== from.fifo) {
    throw new ConfigError(
      `${queueName(from)} is ${kind(from)} and ${queueName(target)} is ${kind(target)}: a redrive moves messages between queues of the same type`,
    );
  }
  const support = sources.length > 0 ? await moveTaskSupport(sqs, from) : { supported: false as const };
  if (support.supported && support.running) {
    const task = support.running;
    throw new Error(
      `a message move task is already running on ${queueName(from)} (${task.ApproximateNumberOfMessagesMoved ?? 0} of ${task.ApproximateNumberOfMessagesToMove ?? '?'} moved): wait for it to finish or cancel it (aws sqs cancel-message-move-task --task-handle ${task.TaskHandle})`,
    );
  }
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: from.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    from,
    to: target,
    method: support.supported ? 'StartMessageMoveTask' : 'receive, send, delete',
    waiting: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** Moves the messages as planned. */
export async function redrive(sqs: SQSClient, plan: RedrivePlan, options: RedriveOptions = {}): Promise<RedriveResult> {
  const common = {
    sqs,
    from: plan.from,
    to: plan.to,
    total: plan.waiting,
    maxPerSecond: options.maxPerSecond,
    signal: options.signal,
    onProgress: options.onProgress,
  };
  if (plan.method === 'StartMessageMoveTask') return redriveWithMoveTask({ ...common, pollIntervalMs: options.pollIntervalMs });
  return redriveInBatches({ ...common, visibilityTimeoutSeconds: options.visibilityTimeoutSeconds });
}

/** Up to `count` (at most 10) messages from the dead-letter queue, left visible for everyone else. */
export async function sampleMessages(sqs: SQSClient, queue: Queue, count: number): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: Math.min(count, 10),
      WaitTimeSeconds: 1,
      VisibilityTimeout: 0,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages;
}

async function onlySource(sqs: SQSClient, from: Queue, sources: string[]): Promise<Queue> {
  if (sources.length === 1) return resolveQueue(sqs, sources[0]!, 'target queue');
  if (sources.length === 0) {
    throw new ConfigError(
      `${queueName(from)} is not the dead-letter queue of any queue (no redrive policy names ${from.arn}): name the target with --to QUEUE_URL`,
    );
  }
  throw new ConfigError(
    `${queueName(from)} is the dead-letter queue of ${sources.length} queues (${sources.join(', ')}): choose one with --to QUEUE_URL`,
  );
}

function kind(queue: Queue): string {
  return queue.fifo ? 'a FIFO queue' : 'a standard queue';
}
