import {
  CancelMessageMoveTaskCommand,
  ListMessageMoveTasksCommand,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from './queue.ts';
import type { RedriveProgress, RedriveResult } from './redrive-progress.ts';
import { isUnsupportedAction } from './unsupported-action.ts';

const FINISHED = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

export interface MoveTaskOptions {
  sqs: SQSClient;
  from: Queue;
  to: Queue;
  /** What the dead-letter queue held at the start, until the task reports its own count. */
  total: number;
  /** The task's MaxNumberOfMessagesPerSecond. @default SQS's own pace */
  maxPerSecond?: number;
  /** How often the task's progress is read. @default 1000 */
  pollIntervalMs?: number;
  /** Cancels the task: messages not moved yet stay in the dead-letter queue. */
  signal?: AbortSignal;
  onProgress?: (progress: RedriveProgress) => void;
}

/**
 * Whether the endpoint runs SQS message move tasks for this queue, and the task already running
 * on it if any (SQS runs one at a time per queue).
 */
export async function moveTaskSupport(
  sqs: SQSClient,
  from: Queue,
): Promise<{ supported: false } | { supported: true; running?: ListMessageMoveTasksResultEntry }> {
  try {
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: from.arn, MaxResults: 10 }));
    return { supported: true, running: Results.find((task) => task.Status === 'RUNNING' || task.Status === 'CANCELLING') };
  } catch (error) {
    if (isUnsupportedAction(error)) return { supported: false };
    throw error;
  }
}

/**
 * Lets SQS move the messages (StartMessageMoveTask): it keeps every message as it is, deletes
 * from the dead-letter queue only what reached the target, and works on while we only read its
 * progress. An abort cancels the task and waits until SQS says it has stopped.
 */
export async function redriveWithMoveTask(options: MoveTaskOptions): Promise<RedriveResult> {
  const { sqs, from, to, signal } = options;
  const { TaskHandle } = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: from.arn, DestinationArn: to.arn, MaxNumberOfMessagesPerSecond: options.maxPerSecond }),
  );
  let cancelling = false;
  for (;;) {
    const task = await findTask(sqs, from, TaskHandle!);
    const progress: RedriveProgress = {
      moved: task.ApproximateNumberOfMessagesMoved ?? 0,
      total: task.ApproximateNumberOfMessagesToMove ?? options.total,
      rejected: [],
    };
    options.onProgress?.(progress);
    if (FINISHED.has(task.Status ?? '')) {
      return {
        ...progress,
        method: 'StartMessageMoveTask',
        interrupted: task.Status === 'CANCELLED',
        heldBack: 0,
        notDeleted: 0,
        ...(task.Status === 'FAILED' ? { failure: task.FailureReason ?? 'the move task failed without a reason' } : {}),
      };
    }
    if (signal?.aborted && !cancelling) {
      cancelling = true;
      await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })).catch((error: unknown) => {
        // The task finished between our read and the cancel: the next read says how.
        if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
      });
      continue;
    }
    await sleep(options.pollIntervalMs ?? 1000, undefined, cancelling ? {} : { signal }).catch(() => undefined);
  }
}

async function findTask(sqs: SQSClient, from: Queue, taskHandle: string): Promise<ListMessageMoveTasksResultEntry> {
  const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: from.arn, MaxResults: 10 }));
  // SQS lists the handle of running tasks only; once finished, ours is the most recent (the first).
  const task = Results.find((entry) => entry.TaskHandle === taskHandle) ?? Results.find((entry) => !entry.TaskHandle);
  if (!task) throw new Error(`the move task on ${from.arn} is missing from ListMessageMoveTasks (handle ${taskHandle})`);
  return task;
}
