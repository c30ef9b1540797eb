import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** SQS's longest retention, which the consumer queues use. */
export const QUEUE_RETENTION = Duration.days(14);
/** How long before a dead-letter record expires its age alarm fires. */
const EXPIRY_WARNING = Duration.days(3);

export interface ConsumerAlarmsProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly function: lambda.IFunction;
  readonly maxReceiveCount: number;
  /** How long a failing record is retried before it moves to the dead-letter queue. */
  readonly retryWindow: Duration;
  /** Alarm when the queue's oldest record is older than this. */
  readonly maxEventAge: Duration;
  /** The command that moves the dead-letter queue back, named in the alarms. */
  readonly redriveCommand: string;
}

export interface ConsumerAlarms {
  readonly deadLetter: cloudwatch.Alarm;
  readonly deadLetterAge: cloudwatch.Alarm;
  readonly queueAge: cloudwatch.Alarm;
  readonly functionFailing: cloudwatch.Alarm;
}

/** A consumer's alarms, each saying what it means and what to do. */
export function createConsumerAlarms(scope: Construct, props: ConsumerAlarmsProps): ConsumerAlarms {
  const path = scope.node.path;
  return {
    deadLetter: new cloudwatch.Alarm(scope, 'DeadLetterAlarm', {
      alarmDescription: `${path}: change events failed ${props.maxReceiveCount} times (over ${props.retryWindow.toHumanString()}) or were refused and wait in the dead-letter queue. Fix the cause, then redrive them: ${props.redriveCommand} (or the SQS console's "Start DLQ redrive").`,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    deadLetterAge: createDeadLetterAgeAlarm(scope, props),
    queueAge: new cloudwatch.Alarm(scope, 'QueueAgeAlarm', {
      alarmDescription: `${path}: the oldest change event waiting for this consumer is older than ${props.maxEventAge.toHumanString()}: its target is failing (records are retried with backoff for ${props.retryWindow.toHumanString()}, then dead-lettered) or the function cannot keep up. Check the function's logs.`,
      metric: props.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: props.maxEventAge.toSeconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // SQS stops reporting for a queue that has been empty for hours: nothing waits.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    functionFailing: new cloudwatch.Alarm(scope, 'FunctionFailingAlarm', {
      alarmDescription: `${path}: the function crashed, timed out or was throttled (a failing record is not an error: those show in the queue's age). Check its logs, timeout and the account's concurrency.`,
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(errors, 0) + FILL(throttles, 0)',
        usingMetrics: {
          errors: props.function.metricErrors({ statistic: 'Sum' }),
          throttles: props.function.metricThrottles({ statistic: 'Sum' }),
        },
        label: 'errors + throttles',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  };
}

/**
 * Fires while there is still time to redrive. A standard queue's record keeps its first enqueue
 * time in the dead-letter queue, and the age metric there counts from the move: it expires
 * QUEUE_RETENTION after it was published, so up to the retry window earlier than the metric says.
 */
function createDeadLetterAgeAlarm(scope: Construct, props: ConsumerAlarmsProps): cloudwatch.Alarm {
  const threshold = Duration.seconds(
    Math.max(QUEUE_RETENTION.toSeconds() - props.retryWindow.toSeconds() - EXPIRY_WARNING.toSeconds(), Duration.days(1).toSeconds()),
  );
  return new cloudwatch.Alarm(scope, 'DeadLetterAgeAlarm', {
    alarmDescription: `${scope.node.path}: a change event has waited in the dead-letter queue for ${threshold.toHumanString()}; SQS deletes it ${QUEUE_RETENTION.toHumanString()} after it was published. Redrive it (${props.redriveCommand}, or the SQS console's "Start DLQ redrive") or save it now.`,
    metric: props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(15), statistic: 'Maximum' }),
    threshold: threshold.toSeconds(),
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
