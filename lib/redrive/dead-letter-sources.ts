import { GetQueueAttributesCommand, ListDeadLetterSourceQueuesCommand, ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Queue } from './queue.ts';
import { isUnsupportedAction } from './unsupported-action.ts';

/**
 * The URLs of the queues whose redrive policy names this dead-letter queue. Uses
 * ListDeadLetterSourceQueues; on an endpoint without it, reads the redrive policy of every
 * queue the account lists, which finds the same queues.
 */
export async function deadLetterSourceQueues(sqs: SQSClient, deadLetterQueue: Queue): Promise<string[]> {
  try {
    return await listPages((NextToken) =>
      sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: deadLetterQueue.url, MaxResults: 1000, NextToken })),
    );
  } catch (error) {
    if (!isUnsupportedAction(error)) throw error;
  }
  const sources: string[] = [];
  for (const url of await listPages((NextToken) => sqs.send(new ListQueuesCommand({ MaxResults: 1000, NextToken })))) {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }));
    const policy = Attributes?.RedrivePolicy ? (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string }) : undefined;
    if (policy?.deadLetterTargetArn === deadLetterQueue.arn) sources.push(url);
  }
  return sources;
}

async function listPages(
  page: (nextToken: string | undefined) => Promise<{ queueUrls?: string[]; QueueUrls?: string[]; NextToken?: string }>,
): Promise<string[]> {
  const urls: string[] = [];
  let nextToken: string | undefined;
  do {
    const answer = await page(nextToken);
    urls.push(...(answer.queueUrls ?? answer.QueueUrls ?? []));
    nextToken = answer.NextToken;
  } while (nextToken);
  return urls;
}
