import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type Message,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { queueName, type Queue } from './queue.ts';
import type { RedriveProgress, RedriveResult, RejectedMessage } from './redrive-progress.ts';

/** SQS takes messages, and batches, of up to 1 MiB. */
const MAX_BATCH_BYTES = 1_048_576;
const MAX_BATCH_ENTRIES = 10;
/** Long polling: a short-polled empty answer can come from a sample of SQS's servers while others still hold messages. */
const RECEIVE_WAIT_SECONDS = 1;

export interface BatchRedriveOptions {
  sqs: SQSClient;
  from: Queue;
  to: Queue;
  /** What the dead-letter queue held at the start, for the progress report. */
  total: number;
  /**
   * How long a received message stays hidden in the dead-letter queue. Refused messages stay
   * hidden for the rest of the run (so the run ends) and are made visible again at its end.
   * @default 300
   */
  visibilityTimeoutSeconds?: number;
  /** At most this many messages a second on average: the next batch waits its turn. @default no limit */
  maxPerSecond?: number;
  /** Stops after the batch in flight. */
  signal?: AbortSignal;
  onProgress?: (progress: RedriveProgress) => void;
}

/**
 * Moves messages by hand: receive up to 10, send them to the target with their body and
 * message attributes, delete from the dead-letter queue only those the target accepted.
 * Messages that reached the dead-letter queue after the start (a redriven message failing
 * again) are left for the next run, so a consumer that still fails cannot keep a redrive busy.
 */
export async function redriveInBatches(options: BatchRedriveOptions): Promise<RedriveResult> {
  const { sqs, from, to, signal } = options;
  const startedAt = Date.now();
  const rejected: RejectedMessage[] = [];
  const refusedIds = new Set<string>();
  const toRelease: string[] = [];
  let moved = 0;
  let heldBack = 0;
  let notDeleted = 0;
  let interrupted = false;
  let handled = 0;
  try {
    for (;;) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: from.url,
          MaxNumberOfMessages: MAX_BATCH_ENTRIES,
          WaitTimeSeconds: RECEIVE_WAIT_SECONDS,
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? 300,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId', 'SentTimestamp'],
        }),
      );
      if (Messages.length === 0) break;
      const [current, later] = partition(
        Messages,
        (message) => Number(message.Attributes?.SentTimestamp ?? 0) < startedAt && !refusedIds.has(message.MessageId!),
      );
      toRelease.push(...later.map((message) => message.ReceiptHandle!));
      if (current.length === 0) continue;

      await paceFor(handled, options.maxPerSecond, startedAt, signal);
      handled += current.length;
      const outcome = await sendBack(sqs, to, current);
      for (const refusal of outcome.rejected) refusedIds.add(refusal.messageId);
      rejected.push(...outcome.rejected);
      heldBack += outcome.heldBack.length;
      const kept = [...outcome.rejected.map((refusal) => refusal.messageId), ...outcome.heldBack, ...outcome.unsent];
      toRelease.push(...kept.map((id) => handleOf(current, id)));
      let deleted: number;
      try {
        deleted = await deleteMessages(
          sqs,
          from,
          outcome.sent.map((id) => handleOf(current, id)),
        );
      } catch (error) {
        throw new Error(
          `${moved} message(s) moved, then deleting ${outcome.sent.length} that reached ${queueName(to)} from ${queueName(from)} failed (a second redrive would deliver them twice): ${errorText(error)}`,
          { cause: error },
        );
      }
      moved += deleted;
      notDeleted += outcome.sent.length - deleted;
      options.onProgress?.({ moved, total: options.total, rejected });
      if (outcome.failure !== undefined) {
        throw new Error(
          `${moved} message(s) moved, then sending to ${queueName(to)} failed; the rest is still in ${queueName(from)}: ${errorText(outcome.failure)}`,
          {
            cause: outcome.failure,
          },
        );
      }
    }
  } finally {
    await releaseMessages(sqs, from, toRelease);
  }
  return {
    method: 'receive, send, delete',
    moved,
    total: options.total,
    rejected,
    heldBack,
    notDeleted,
    interrupted,
  };
}

interface SendOutcome {
  sent: string[];
  rejected: RejectedMessage[];
  heldBack: string[];
  /** Not sent because a call failed as a whole (`failure`): the messages after it wait too. */
  unsent: string[];
  failure?: unknown;
}

/**
 * Sends the messages to the target in as few calls as the limits allow. On FIFO a call holds at
 * most one message per group and a refused message holds back the rest of its group, so the
 * target receives each group in its original order.
 */
async function sendBack(sqs: SQSClient, to: Queue, messages: Message[]): Promise<SendOutcome> {
  const outcome: SendOutcome = { sent: [], rejected: [], heldBack: [], unsent: [] };
  const blockedGroups = new Set<string>();
  let pending = messages;
  while (pending.length > 0) {
    const batch: Message[] = [];
    const groups = new Set<string>();
    const rest: Message[] = [];
    let bytes = 0;
    for (const message of pending) {
      const group = groupOf(message);
      if (to.fifo && blockedGroups.has(group)) {
        outcome.heldBack.push(message.MessageId!);
        continue;
      }
      const size = messageBytes(message);
      const full = batch.length === MAX_BATCH_ENTRIES || (batch.length > 0 && bytes + size > MAX_BATCH_BYTES);
      const behindItsGroup = to.fifo && (groups.has(group) || rest.some((waiting) => groupOf(waiting) === group));
      if (full || behindItsGroup) {
        rest.push(message);
        continue;
      }
      batch.push(message);
      groups.add(group);
      bytes += size;
    }
    if (batch.length === 0) break;
    let answer: SendMessageBatchCommandOutput;
    try {
      answer = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: to.url,
          Entries: batch.map((message, index) => sendEntry(message, String(index), to.fifo)),
        }),
      );
    } catch (error) {
      outcome.failure = error;
      outcome.unsent.push(...[...batch, ...rest].map((message) => message.MessageId!));
      break;
    }
    const { Successful = [], Failed = [] } = answer;
    outcome.sent.push(...Successful.map((entry) => batch[Number(entry.Id)]!.MessageId!));
    for (const failure of Failed) {
      const message = batch[Number(failure.Id)]!;
      outcome.rejected.push({ messageId: message.MessageId!, code: failure.Code ?? 'Unknown', message: failure.Message ?? '' });
      blockedGroups.add(groupOf(message));
    }
    pending = rest;
  }
  return outcome;
}

/**
 * On FIFO the deduplication id is the dead-letter message's own id: the original one may still
 * be inside the target's 5-minute deduplication window, where SQS would accept the send and
 * drop the message; the dead-letter id also makes a send repeated after a crash a duplicate.
 */
function sendEntry(message: Message, id: string, fifo: boolean): SendMessageBatchRequestEntry {
  return {
    Id: id,
    MessageBody: message.Body!,
    ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0
      ? { MessageAttributes: copyAttributes(message.MessageAttributes) }
      : {}),
    ...(fifo ? { MessageGroupId: message.Attributes?.MessageGroupId, MessageDeduplicationId: message.MessageId } : {}),
  };
}

/** Received attributes carry list fields SQS does not accept back; keep the value and its type. */
function copyAttributes(attributes: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> {
  const copy: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    copy[name] = {
      DataType: value.DataType,
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : { StringValue: value.StringValue }),
    };
  }
  return copy;
}

/** Size as SQS counts it: body plus, per attribute, name, data type and value. */
function messageBytes(message: Message): number {
  let bytes = Buffer.byteLength(message.Body ?? '', 'utf8');
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType ?? '', 'utf8');
    bytes += value.BinaryValue !== undefined ? value.BinaryValue.byteLength : Buffer.byteLength(value.StringValue ?? '', 'utf8');
  }
  return bytes;
}

/** Deletes what the target accepted; returns how many are gone. */
async function deleteMessages(sqs: SQSClient, queue: Queue, receiptHandles: string[]): Promise<number> {
  if (receiptHandles.length === 0) return 0;
  const { Successful = [] } = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: receiptHandles.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle })),
    }),
  );
  return Successful.length;
}

/** Makes the messages this run left in the dead-letter queue visible again at once. */
async function releaseMessages(sqs: SQSClient, queue: Queue, receiptHandles: string[]): Promise<void> {
  for (let start = 0; start < receiptHandles.length; start += MAX_BATCH_ENTRIES) {
    const handles = receiptHandles.slice(start, start + MAX_BATCH_ENTRIES);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queue.url,
        Entries: handles.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

/** Waits until `handled` messages are within the rate since the start; a stop request ends the wait. */
async function paceFor(
  handled: number,
  maxPerSecond: number | undefined,
  startedAt: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (!maxPerSecond) return;
  const due = startedAt + (handled / maxPerSecond) * 1000 - Date.now();
  if (due > 0) await sleep(due, undefined, { signal }).catch(() => undefined);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function groupOf(message: Message): string {
  return message.Attributes?.MessageGroupId ?? '';
}

function handleOf(messages: Message[], messageId: string): string {
  return messages.find((message) => message.MessageId === messageId)!.ReceiptHandle!;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}
