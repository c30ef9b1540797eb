import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../errors.ts';
import { localConsumerQueueNames } from '../local/local-consumer-queues.ts';
import type { Queue } from './queue.ts';

/** Which queue of a consumer a bare consumer name stands for. */
export type QueueRole = 'dead-letter queue' | 'target queue';

const ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]*):(\d*):(.+)$/;

/**
 * Finds a queue from what a user types: its URL, its ARN, its name, or the name of one of
 * `npm start`'s consumers (`SignupEmail`: its dead-letter queue, or with `--to` its queue).
 */
export async function resolveQueue(sqs: SQSClient, reference: string, role: QueueRole): Promise<Queue> {
  if (/^https?:\/\//.test(reference)) return describeQueue(sqs, reference, reference, role);
  const arn = ARN.exec(reference);
  if (arn) {
    const url = await queueUrl(sqs, arn[3]!, arn[2] || undefined);
    if (!url) throw new ConfigError(`${role} ${reference} does not exist (or this account may not see it)`);
    return describeQueue(sqs, url, reference, role);
  }
  const names = [reference, ...consumerQueueNames(reference, role)];
  for (const name of names) {
    const url = await queueUrl(sqs, name);
    if (url) return describeQueue(sqs, url, reference, role);
  }
  throw new ConfigError(
    `${role} "${reference}" not found: give its URL or ARN, a queue name, or the name of an npm start consumer (looked for ${names.map((name) => `"${name}"`).join(', ')})`,
  );
}

function consumerQueueNames(consumerId: string, role: QueueRole): string[] {
  return [false, true].map((fifo) => {
    const names = localConsumerQueueNames(consumerId, { fifo });
    return role === 'dead-letter queue' ? names.deadLetterQueue : names.queue;
  });
}

async function queueUrl(sqs: SQSClient, name: string, owner?: string): Promise<string | undefined> {
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name, ...(owner ? { QueueOwnerAWSAccountId: owner } : {}) }));
    return QueueUrl;
  } catch (error) {
    if (isMissingQueue(error)) return undefined;
    throw error;
  }
}

async function describeQueue(sqs: SQSClient, url: string, reference: string, role: QueueRole): Promise<Queue> {
  try {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    return { url, arn: Attributes!.QueueArn!, fifo: url.endsWith('.fifo') };
  } catch (error) {
    if (isMissingQueue(error)) throw new ConfigError(`${role} ${reference} does not exist`);
    throw error;
  }
}

/** The SDK's name for the JSON protocol's error, or the Query protocol's code on older endpoints. */
export function isMissingQueue(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}
