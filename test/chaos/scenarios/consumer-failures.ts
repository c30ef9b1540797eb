import { Logger } from '@aws-lambda-powertools/logger';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { handleChanges } from '../../../lib/consumers/index.ts';
import { ConsumerRunner } from '../../../lib/local/consumer-runner.ts';
import { spawnChaosListener, writtenIds, type ChaosEnvironment } from '../chaos-environment.ts';
import { tally, type ScenarioResult } from '../scenario-result.ts';
import { MessageCollector } from '../message-collector.ts';
import { runWriteLoad } from '../write-load.ts';

/**
 * A consumer (the real handleChanges helper, fed like Lambda by its queue) that always fails on
 * one event in `poisonEvery` and fails once, transiently, on about 10% of the others. Only the
 * failed records may come back; after maxReceiveCount the poison ones must be in the DLQ, and
 * no record that succeeded may be handled twice.
 */
export async function consumerFailures(
  env: ChaosEnvironment,
  { events, poisonEvery }: { events: number; poisonEvery: number },
): Promise<ScenarioResult> {
  const topicArn = await env.aws.createTopic('consumer');
  const deadLetter = await env.aws.createQueue('consumer-dlq');
  const queue = await env.aws.subscribeQueue(topicArn, 'consumer');
  await env.aws.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queue.url,
      Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: 3 }) },
    }),
  );
  const succeeded = new Map<string, number>();
  const failedOnce = new Set<string>();
  const isPoison = (id: string) => BigInt(id) % BigInt(poisonEvery) === 0n;
  const handler = handleChanges(
    async (event) => {
      if (isPoison(event.id)) throw new Error('this record can never be processed');
      if (!failedOnce.has(event.id) && Math.random() < 0.1) {
        failedOnce.add(event.id);
        throw new Error('downstream hiccup');
      }
      succeeded.set(event.id, (succeeded.get(event.id) ?? 0) + 1);
    },
    { logger: new Logger({ logLevel: 'CRITICAL' }) },
  );
  const runner = new ConsumerRunner({ name: 'chaos-consumer', sqs: env.aws.sqs, queueUrl: queue.url, queueArn: queue.arn, handler });
  runner.start();
  const dlq = new MessageCollector(env.aws.sqs, deadLetter.url, 1);
  dlq.start();
  const listener = spawnChaosListener(env, { topicArn });
  await runWriteLoad({ url: env.url, writers: 4, events });
  const loadEnded = Date.now();
  const written = await writtenIds(env.url);
  const poison = [...written].filter(isPoison);
  const deadline = Date.now() + 90_000;
  const settled = () => succeeded.size + dlq.distinct >= written.size;
  while (!settled() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const recoverMs = settled() ? Date.now() - loadEnded : null;
  await runner.stop();
  await dlq.stop();
  listener.child.kill('SIGTERM');
  await listener.exited;
  const { Attributes } = await env.aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const leftInQueue = Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);

  // "Delivered" here means handled or in the dead-letter queue: accounted for, not lost. Records
  // handled twice are counted as violations below, so the duplicated column stays 0 here.
  const accounted = new Map<string, number>();
  for (const id of [...succeeded.keys(), ...dlq.counts.keys()]) accounted.set(id, 1);
  let handledTwice = 0;
  for (const count of succeeded.values()) if (count > 1) handledTwice++;
  const poisonInDlq = poison.filter((id) => dlq.counts.has(id)).length;
  const healthyInDlq = [...dlq.counts.keys()].filter((id) => !isPoison(id)).length;
  return tally(
    `consumer: 1 in ${poisonEvery} always fails, ~10% fail once`,
    written,
    accounted,
    recoverMs,
    `${succeeded.size} handled, ${poisonInDlq}/${poison.length} poison in the DLQ, ${failedOnce.size} transient failures retried; ` +
      `succeeded records handled twice: ${handledTwice}; healthy records in the DLQ: ${healthyInDlq}; left in queue: ${leftInQueue}`,
    handledTwice + healthyInDlq + (poison.length - poisonInDlq),
  );
}
