import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { buildFilterPolicy, type ConsumerFilter } from '../consumers/filter-policy.ts';
import { deadLetterQueueOutputDescription } from '../redrive/dead-letter-queue-output.ts';
import {
  DEFAULT_RETRY_BACKOFF,
  MAX_VISIBILITY_SECONDS,
  receivesForRetryWindow,
  retryWindowSeconds,
  type RetryBackoff,
} from '../consumers/retry-backoff.ts';
import { createConsumerAlarms, QUEUE_RETENTION, type ConsumerAlarms } from './consumer-alarms.ts';
import { resolveHandlerFile, type HandlerFileOptions } from './handler-file.ts';
import { acknowledgeAwsSolutionsFindings } from './nag-acknowledgements.ts';
import { builtInHandlerDirectory, type BuiltInHandler } from './package-assets.ts';
import type { PgBridge } from './pg-bridge.ts';
import { PropsCheck } from './props-validation.ts';
import { guardStackResourceLimit } from './stack-resource-limit.ts';

/** Options every consumer has: which events reach it and how its queue feeds its function. */
export interface ConsumerOptions {
  /**
   * Which change events reach this consumer: `{ table: 'users', action: 'insert' }`,
   * `{ label: 'plan_changed' }`, `{ table: 'orders', body: { key: { id: [42] } } }` (one record),
   * or `{ raw: <SNS filter policy>, scope }`. A backfill's `read` events reach a consumer only
   * when its `action` lists `read` (a raw policy: unless it limits `action`).
   * @default every event the bridge publishes but a backfill's `read` events
   */
  readonly filter?: ConsumerFilter;
  /**
   * The consumer's name for a targeted backfill: `pgbridge backfill --target NAME` sends its
   * events to this consumer alone (every consumer's filter policy honours the `target`
   * attribute). Unique among the bridge's consumers.
   * @default the consumer's id, e.g. 'Signup' for `addEmailConsumer('Signup', ...)`
   */
  readonly name?: string;
  /**
   * Records per invocation; above 10, `maxBatchingWindow` is required (an SQS rule). A FIFO
   * bridge allows at most 10.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long to gather records before invoking (at most 5 minutes). Not available on a FIFO
   * bridge: Lambda does not support a batching window for FIFO queues.
   * @default no batching window
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * At most this many concurrent invocations from the queue (2-1000): protects a downstream
   * that cannot take a burst. Email and webhook consumers default to 2, the least Lambda allows,
   * so that a bulk update does not burst past SES's sending rate (14 emails/s by default) or a
   * receiver's capacity; records that wait count in the queue's age, never as failures.
   * @default 2 for email and webhook consumers; for your own, no limit beyond the account's concurrency
   */
  readonly maxConcurrency?: number;
  /**
   * How long a record whose handler fails is retried before it moves to the dead-letter queue.
   * Each failure hides the record for a backoff: 10 s, doubling up to `maxRetryDelay`; the
   * queue's `maxReceiveCount` is derived from this window. A target that is down for less than
   * the window loses nothing: its records wait in the queue and go through once it is back.
   * @default Duration.hours(24)
   */
  readonly retryWindow?: Duration;
  /** The longest backoff between two attempts of a failing record (at most 12 hours). @default Duration.minutes(15) */
  readonly maxRetryDelay?: Duration;
  /**
   * Receives before a record moves to the dead-letter queue, instead of `retryWindow` (the
   * window then follows from the backoff: 5 receives wait 10 + 20 + 40 + 80 s).
   * @default derived from `retryWindow`
   */
  readonly maxReceiveCount?: number;
  /**
   * Alarm when the oldest record waiting in the queue is older than this: the target is failing
   * or the function falls behind, well before records reach the dead-letter queue.
   * @default Duration.minutes(15)
   */
  readonly maxEventAge?: Duration;
  /** The function's timeout. @default Duration.seconds(30) */
  readonly functionTimeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** Extra environment variables of the function. @default none */
  readonly environment?: Record<string, string>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the queue and the dead-letter queue, with the events in them, when they
   * leave the stack: on `cdk destroy`, when the consumer is removed, or when its id changes (a
   * rename is a new queue). Retained queues stay in the account, outside the stack: drain them,
   * then delete them by hand.
   * @default RemovalPolicy.RETAIN
   */
  readonly queueRemovalPolicy?: RemovalPolicy;
}

/** Where `bridge.addConsumer(...)` and its siblings create the consumer. */
export interface ConsumerPlacement {
  /**
   * The construct the consumer is created in, e.g. another stack (the topic is referenced across
   * stacks) or a `NestedStack`: a stack holds at most 500 resources, about 38 webhook consumers.
   * @default the bridge
   */
  readonly scope?: Construct;
}

/** `bridge.addConsumer(id, options)`: a reaction with your own code. */
export interface CustomConsumerOptions extends ConsumerOptions, HandlerFileOptions {}

/** The code of EmailConsumer and WebhookConsumer: a handler bundle shipped in pgbridge's dist/. */
export interface BuiltInConsumerCode {
  readonly builtIn: BuiltInHandler;
}

/** What every consumer construct takes besides its options: the bridge whose events it receives. */
export interface BridgeConsumerProps {
  /**
   * The bridge: its topic feeds the consumer's queue, and the dead-letter alarm gets the
   * bridge's alarm actions and is listed in `bridge.alarms`. The bridge may be in another stack
   * of the same account and region.
   */
  readonly bridge: PgBridge;
}

/** A consumer's own handler file, or a built-in one. */
export type ChangeConsumerProps = ConsumerOptions & (HandlerFileOptions | BuiltInConsumerCode) & BridgeConsumerProps;

/**
 * One reaction to change events: an encrypted SQS queue (FIFO when the topic is) subscribed to
 * the topic with raw delivery and a filter policy, its dead-letter queue with an alarm on depth,
 * and a Lambda function fed by the queue with partial batch failures.
 */
export class ChangeConsumer extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly function: lambda.Function;
  readonly subscription: sns.Subscription;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Dead-letter depth and age, queue age, function errors and throttles. */
  readonly alarms: ConsumerAlarms;
  /** How long a failing record is retried before it is dead-lettered. */
  readonly retryWindow: Duration;
  /** What `pgbridge backfill --target` names to reach this consumer alone. */
  readonly consumerName: string;

  constructor(scope: Construct, id: string, props: ChangeConsumerProps) {
    super(scope, id);
    const timeout = props.functionTimeout ?? Duration.seconds(30);
    const batchingWindow = props.maxBatchingWindow ?? Duration.seconds(0);
    const topic = props.bridge.topic;
    const fifo = topic.fifo;
    const batchSize = props.batchSize ?? 10;
    const backoff: RetryBackoff = {
      ...DEFAULT_RETRY_BACKOFF,
      maxDelaySeconds: props.maxRetryDelay?.toSeconds() ?? DEFAULT_RETRY_BACKOFF.maxDelaySeconds,
    };
    const maxReceiveCount = props.maxReceiveCount ?? receivesForRetryWindow((props.retryWindow ?? Duration.hours(24)).toSeconds(), backoff);
    const check = new PropsCheck(this.node.path)
      .integerBetween('batchSize', props.batchSize, 1, 10_000)
      .integerBetween('maxConcurrency', props.maxConcurrency, 2, 1000)
      .integerBetween('maxReceiveCount', props.maxReceiveCount, 1, 1000)
      .require(
        !(props.maxReceiveCount && props.retryWindow),
        'maxReceiveCount and retryWindow: give one of them (the other follows from the backoff)',
      )
      .require(
        backoff.maxDelaySeconds >= backoff.firstDelaySeconds && backoff.maxDelaySeconds <= MAX_VISIBILITY_SECONDS,
        `maxRetryDelay must be between ${backoff.firstDelaySeconds} seconds and 12 hours (the SQS visibility limit)`,
      )
      .require(
        props.retryWindow === undefined || props.retryWindow.toSeconds() <= Duration.days(7).toSeconds(),
        'retryWindow cannot exceed 7 days: records must reach the dead-letter queue well before SQS deletes them (14 days after they were published)',
      )
      .require(
        maxReceiveCount <= 1000,
        `retryWindow needs ${maxReceiveCount} receives, more than the 1000 SQS allows: raise maxRetryDelay or shorten retryWindow`,
      )
      .integerBetween('memorySize', props.memorySize, 128, 10_240)
      .require(timeout.toSeconds() <= 900, 'functionTimeout cannot exceed 15 minutes (the Lambda maximum)')
      .require(batchingWindow.toSeconds() <= 300, 'maxBatchingWindow cannot exceed 5 minutes (the Lambda maximum)')
      .require(
        !fifo || batchSize <= 10,
        `batchSize ${batchSize}: a FIFO bridge delivers at most 10 records per batch (the Lambda limit for FIFO queues)`,
      )
      .require(
        !fifo || batchingWindow.toSeconds() === 0,
        'maxBatchingWindow is not available on a FIFO bridge (Lambda has no batching window for FIFO queues); remove it',
      )
      .require(
        fifo || batchSize <= 10 || batchingWindow.toSeconds() > 0,
        `batchSize ${batchSize} needs maxBatchingWindow (SQS allows more than 10 records per batch only with a batching window)`,
      );
    this.consumerName = props.name ?? id;
    const filterPolicy = check.attempt(() => buildFilterPolicy(props.filter, this.consumerName));
    const handlerFile = 'builtIn' in props ? undefined : resolveHandlerFile(props, check);
    check.throwIfInvalid();

    // The built-in consumers wrap this construct as `Consumer` inside the one the user named.
    const consumerName = 'builtIn' in props ? scope.node.id : id;
    const removalPolicy = props.queueRemovalPolicy ?? RemovalPolicy.RETAIN;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: fifo || undefined,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_RETENTION,
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: fifo || undefined,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy,
      // As long as SQS allows: events wait out a long consumer outage here rather than expire.
      retentionPeriod: QUEUE_RETENTION,
      // AWS's advice for a Lambda-fed queue: six times the function timeout plus the batching
      // window, so a record is not handed to a second invocation while the first is still
      // gathering or working on it (throttling included).
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6 + batchingWindow.toSeconds()),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    // Subscribed by hand rather than with SqsSubscription, which makes the queue's stack depend on
    // the topic's and so throws for a nested stack of the bridge's own stack (aws-cdk#18829).
    // The same two pieces: SNS may send to the queue from this topic only, then the subscription.
    const topicMaySend = this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': topic.topicArn } },
      }),
    );
    this.subscription = new sns.Subscription(this, 'Subscription', {
      topic,
      protocol: sns.SubscriptionProtocol.SQS,
      endpoint: this.queue.queueArn,
      rawMessageDelivery: true,
    });
    if (topicMaySend.policyDependable) this.subscription.node.addDependency(topicMaySend.policyDependable);
    if (filterPolicy) {
      // Written as the JSON SNS stores, not through SubscriptionFilter: the same policy the local
      // runner gives the emulator, and body-scope and `$or` policies pass through unchanged.
      const subscription = this.subscription.node.defaultChild as sns.CfnSubscription;
      subscription.filterPolicy = filterPolicy.policy;
      subscription.filterPolicyScope = filterPolicy.scope;
    }

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role instead of AWSLambdaBasicExecutionRole, which may write to every log group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `pgbridge consumer ${this.node.path}`,
    });
    logGroup.grantWrite(role);
    const functionProps = {
      role,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      timeout,
      memorySize: props.memorySize ?? 256,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: id,
        PGBRIDGE_DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        // handleChanges hides a failed record in its queue for its backoff (the function may:
        // the event source's consume grant includes sqs:ChangeMessageVisibility).
        PGBRIDGE_QUEUE_URL: this.queue.queueUrl,
        PGBRIDGE_RETRY_FIRST_DELAY_SECONDS: String(backoff.firstDelaySeconds),
        PGBRIDGE_RETRY_MAX_DELAY_SECONDS: String(backoff.maxDelaySeconds),
        ...props.environment,
      },
    } satisfies Partial<lambda.FunctionProps>;
    this.function =
      'builtIn' in props
        ? new lambda.Function(this, 'Function', {
            ...functionProps,
            // Prebuilt by pgbridge's own build: the user's synth needs no esbuild or lockfile for it.
            code: lambda.Code.fromAsset(builtInHandlerDirectory(props.builtIn)),
            handler: 'index.handler',
          })
        : new nodejs.NodejsFunction(this, 'Function', {
            ...functionProps,
            ...handlerFile!,
            handler: props.handlerExport ?? 'handler',
            bundling: {
              // The app's esbuild bundles (pgbridge depends on one): no Docker needed for synth or deploy.
              forceDockerBundling: false,
              minify: true,
              sourceMap: true,
              target: 'node22',
              // The Node.js 22 runtime ships AWS SDK v3; bundling it again only grows cold starts.
              externalModules: ['@aws-sdk/*'],
            },
          });
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize,
        maxBatchingWindow: batchingWindow.toSeconds() > 0 ? batchingWindow : undefined,
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // handleChanges moves a PermanentFailure to the DLQ itself instead of retrying it.
    this.deadLetterQueue.grantSendMessages(this.function);

    this.retryWindow = Duration.seconds(retryWindowSeconds(maxReceiveCount, backoff));
    this.alarms = createConsumerAlarms(this, {
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      function: this.function,
      maxReceiveCount,
      retryWindow: this.retryWindow,
      maxEventAge: props.maxEventAge ?? Duration.minutes(15),
      redriveCommand: `pgbridge redrive ${consumerName} --stack ${Stack.of(this).stackName}`,
    });
    this.deadLetterAlarm = this.alarms.deadLetter;
    for (const alarm of Object.values(this.alarms)) props.bridge.registerAlarm(alarm);
    props.bridge.addConsumerToDashboard(this);
    props.bridge.payloadBucket?.addReader(this, this.function, props.filter);
    // Read by `pgbridge redrive <id> --stack <stack>`, so nobody copies queue URLs from the console.
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.deadLetterQueue.queueUrl,
      description: deadLetterQueueOutputDescription(consumerName),
    });
    guardStackResourceLimit(this);
    acknowledgeAwsSolutionsFindings(this.function, {
      L1: 'Node.js 22 is the runtime the handlers are bundled for (esbuild target node22) and tested on; a newer one is a tested upgrade of pgbridge, not a setting.',
    });
  }
}
