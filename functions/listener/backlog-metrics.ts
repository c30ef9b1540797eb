import type pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import type { Logger } from '../../lib/logger.ts';

export const METRICS_NAMESPACE = 'pgbridge';

/**
 * Logs the backlog as a CloudWatch Embedded Metric Format line: on Fargate the awslogs driver
 * ships it to CloudWatch Logs, which turns it into metrics (OutboxOldestEventAgeSeconds,
 * ParkedEvents, dimension Bridge) without any PutMetricData permission or SDK call.
 */
export async function reportBacklog(client: pg.ClientBase, bridgeName: string, log: Logger): Promise<void> {
  const { rows } = await client.query(statement('admin/backlog'));
  const { oldest_age_seconds: oldestAgeSeconds, parked } = rows[0];
  log.info({
    msg: 'backlog',
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Bridge']],
          Metrics: [
            { Name: 'OutboxOldestEventAgeSeconds', Unit: 'Seconds' },
            { Name: 'ParkedEvents', Unit: 'Count' },
          ],
        },
      ],
    },
    Bridge: bridgeName,
    OutboxOldestEventAgeSeconds: oldestAgeSeconds,
    ParkedEvents: parked,
  });
}
