import { Logger } from '@aws-lambda-powertools/logger';
import { SESClient } from '@aws-sdk/client-ses';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createEmailConsumer } from '../consumers/email-consumer.ts';
import { createWebhookConsumer } from '../consumers/webhook-consumer.ts';
import { buildFilterPolicy, type ConsumerFilter } from '../consumers/filter-policy.ts';
import type { HandleChangesOptions } from '../consumers/handle-changes.ts';
import type { RetryBackoff } from '../consumers/retry-backoff.ts';
import { DEMO_REACTIONS } from '../demo/demo-reactions.ts';
import type { AwsResources } from './aws-resources.ts';
import { ConsumerRunner, type SqsHandler } from './consumer-runner.ts';
import { localConsumerQueueNames } from './local-consumer-queues.ts';

export interface LocalReactionsOptions {
  aws: AwsResources;
  topicArn: string;
  /** SES endpoint the email consumers send to (the emulator, or LocalStack). */
  sesEndpoint: string;
  /** Sender and recipient of the demo emails. @default 'team@example.com' */
  teamEmail?: string;
  webhookUrl: string;
  webhookSecret: string;
  /** Added to queue names, so several runs can share one emulator. @default 'pgbridge-demo' */
  prefix?: string;
  /** Receives before a message moves to its dead-letter queue. @default 3 */
  maxReceiveCount?: number;
  /** Seconds before a message whose handler crashed comes back. @default 30 */
  visibilityTimeoutSeconds?: number;
  /** How long a failed record waits before it comes back. @default 2 s, doubling up to 8 s */
  retryBackoff?: RetryBackoff;
  /** Log level of the handlers (Powertools). @default 'WARN' */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export interface LocalConsumer {
  id: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  runner: ConsumerRunner;
}

export interface LocalReactions {
  consumers: LocalConsumer[];
  stop(): Promise<void>;
}

/**
 * The demo reactions (lib/demo/demo-reactions.ts) on the local emulators, wired as the CDK
 * constructs wire them in AWS: per consumer a queue subscribed to the topic with its filter
 * policy and raw delivery, a dead-letter queue through a redrive policy, and the real handler
 * fed by a ConsumerRunner with Lambda's batch semantics.
 */
export async function startLocalReactions(options: LocalReactionsOptions): Promise<LocalReactions> {
  const { aws, topicArn } = options;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const team = options.teamEmail ?? 'team@example.com';
  const ses = new SESClient({
    region,
    endpoint: options.sesEndpoint,
    ...(process.env.AWS_ACCESS_KEY_ID ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
  const { signupEmail, planChangedEmail, orderWebhook } = DEMO_REACTIONS;

  const definitions: Array<{ id: string; filter: ConsumerFilter; handler: (handling: HandleChangesOptions) => SqsHandler }> = [
    ...[signupEmail, planChangedEmail].map((email) => ({
      id: email.id,
      filter: email.filter,
      handler: (handling: HandleChangesOptions) =>
        createEmailConsumer({ from: team, to: [team], subject: email.subject, text: email.text, html: email.html }, { ...handling, ses }),
    })),
    {
      id: orderWebhook.id,
      filter: orderWebhook.filter,
      handler: (handling) =>
        createWebhookConsumer(
          // Loopback is refused by default; the local receiver is on 127.0.0.1, so allow it here.
          { url: options.webhookUrl, secret: async () => options.webhookSecret, timeoutMs: 5000, allowPrivateTargets: true },
          handling,
        ),
    },
  ];

  const consumers: LocalConsumer[] = [];
  for (const definition of definitions) {
    const names = localConsumerQueueNames(definition.id, { prefix: options.prefix, fifo: topicArn.endsWith('.fifo') });
    const deadLetter = await aws.createQueue(names.deadLetterQueue);
    const policy = buildFilterPolicy(definition.filter, definition.id);
    const queue = await aws.subscribeQueue(topicArn, names.queue, policy.policy, policy.scope);
    await aws.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queue.url,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: options.maxReceiveCount ?? 3 }),
        },
      }),
    );
    const logger = new Logger({ serviceName: definition.id, logLevel: options.logLevel ?? 'WARN' });
    const runner = new ConsumerRunner({
      name: definition.id,
      sqs: aws.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      handler: definition.handler({
        sqs: aws.sqs,
        s3: aws.s3,
        queueUrl: queue.url,
        deadLetterQueueUrl: deadLetter.url,
        retryBackoff: options.retryBackoff ?? { firstDelaySeconds: 2, maxDelaySeconds: 8 },
        logger,
      }),
      region,
    });
    runner.start();
    consumers.push({ id: definition.id, queueUrl: queue.url, deadLetterQueueUrl: deadLetter.url, runner });
  }
  return {
    consumers,
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.runner.stop()));
      ses.destroy();
    },
  };
}
