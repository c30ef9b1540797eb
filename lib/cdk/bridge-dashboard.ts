import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { ChangeConsumer } from './change-consumer.ts';
import type { PgBridge } from './pg-bridge.ts';

const PERIOD = Duration.minutes(1);
const FULL_WIDTH = 24;

/**
 * A CloudWatch dashboard of a bridge: the listener's metrics (published, failures, backlog,
 * delay, batch sizes, parked, SNS delivery failures) on top, then one row per consumer (queue
 * depth and age, dead-letter depth and age, the function's errors, throttles and duration).
 * Consumers in another stack get a dashboard in their stack (a widget reading a resource of
 * another stack would make the bridge's stack depend on it).
 */
export class BridgeDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: { readonly title: string }) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `# ${props.title}`, width: FULL_WIDTH, height: 1 }));
  }

  /** The listener's rows. */
  addListener(bridge: PgBridge): void {
    const sum = { statistic: 'Sum', period: PERIOD };
    const max = { statistic: 'Maximum', period: PERIOD };
    this.dashboard.addWidgets(
      graph(
        'Events published per minute',
        [bridge.metricEventsPublished(sum)],
        [bridge.metricPublishFailures({ ...sum, label: 'publish failures (entries)' })],
      ),
      graph(
        'Outbox backlog',
        [bridge.metricOutboxBacklog({ ...max, label: 'waiting events' })],
        [bridge.metricOutboxOldestEventAge({ ...max, label: 'oldest age (s)' })],
      ),
      graph('Publish delay (s): transaction start to accepted by SNS', [
        bridge.metricPublishDelay({ statistic: 'p50', period: PERIOD, label: 'p50' }),
        bridge.metricPublishDelay({ statistic: 'p99', period: PERIOD, label: 'p99' }),
        bridge.metricPublishDelay({ ...max, label: 'max' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Events per drain round', [
        bridge.metricDrainBatchSize({ statistic: 'Average', period: PERIOD, label: 'average' }),
        bridge.metricDrainBatchSize({ ...max, label: 'max' }),
      ]),
      graph(
        'Parked events, failed SNS deliveries',
        [bridge.metricParkedEvents({ ...max, label: 'parked' })],
        [bridge.topic.metricNumberOfNotificationsFailed({ ...sum, label: 'SNS deliveries failed' })],
      ),
      graph('Listener tasks running', [
        bridge.service.metricCpuUtilization({ statistic: 'SampleCount', period: PERIOD, label: 'tasks (CPU samples)' }),
      ]),
    );
  }

  /** One row for a consumer. */
  addConsumer(consumer: ChangeConsumer): void {
    const name = consumer.node.path;
    const max = { statistic: 'Maximum', period: PERIOD };
    this.dashboard.addWidgets(
      graph(
        `${name}: queue`,
        [consumer.queue.metricApproximateNumberOfMessagesVisible({ ...max, label: 'waiting' })],
        [consumer.queue.metricApproximateAgeOfOldestMessage({ ...max, label: 'oldest age (s)' })],
      ),
      graph(
        `${name}: dead-letter queue`,
        [consumer.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...max, label: 'dead-lettered' })],
        [consumer.deadLetterQueue.metricApproximateAgeOfOldestMessage({ ...max, label: 'oldest age (s)' })],
      ),
      graph(
        `${name}: function`,
        [
          consumer.function.metricErrors({ statistic: 'Sum', period: PERIOD, label: 'errors' }),
          consumer.function.metricThrottles({ statistic: 'Sum', period: PERIOD, label: 'throttles' }),
        ],
        [consumer.function.metricDuration({ statistic: 'p99', period: PERIOD, label: 'duration p99 (ms)' })],
      ),
    );
  }
}

function graph(title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, right, width: FULL_WIDTH / 3, height: 6 });
}
