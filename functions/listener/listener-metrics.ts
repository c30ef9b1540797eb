import type pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import type { Logger } from '../../lib/logger.ts';
import type { DrainResult } from './outbox-drainer.ts';

export const METRICS_NAMESPACE = 'pgbridge';

/** CloudWatch takes at most 100 values per metric in one EMF document. */
const MAX_VALUES = 100;

/** What one metrics line reports, also handed to in-process listeners (the `npm start` summary). */
export interface MetricsSnapshot {
  intervalSeconds: number;
  eventsPublished: number;
  publishFailures: number;
  parkedNow: number;
  backlog: number;
  oldestEventAgeSeconds: number;
  /** Events fetched per drain round (a sample of at most 100 rounds). */
  batchSizes: number[];
  /** Per round, seconds from its oldest published event's transaction start to AWS accepting it (a sample). */
  publishDelaysSeconds: number[];
  /** With `"capture": "wal"` watches: WAL after the slot's confirmed position, and WAL the slot keeps on disk (bytes). */
  walSlot?: { unconfirmedBytes: number; retainedBytes: number };
}

/**
 * The leader's metrics, added up in memory per drain round (never per event: the drain loop is
 * the hot path) and written once per interval as one CloudWatch Embedded Metric Format line. On
 * Fargate the awslogs driver ships it to CloudWatch Logs, which turns it into metrics (namespace
 * `pgbridge`, dimension `Bridge`) without any PutMetricData permission or SDK call.
 */
export class ListenerMetrics {
  private published = 0;
  private failures = 0;
  private batchSizes = new Sample();
  /** Listener clock at acceptance minus the event's `at` in the database clock; corrected at report time. */
  private rawDelaysMs = new Sample();
  private intervalStart = Date.now();

  constructor(private readonly bridgeName: string) {}

  /** One drain round. */
  recordRound(result: DrainResult): void {
    if (result.fetched === 0) return;
    this.published += result.published;
    this.failures += result.failed;
    this.batchSizes.add(result.fetched);
    if (result.oldestPublished !== undefined) {
      // `at` arrives as JSON text: a quoted ISO timestamp.
      const at = Date.parse(result.oldestPublished.at.slice(1, -1));
      if (Number.isFinite(at)) this.rawDelaysMs.add(result.oldestPublished.acceptedAtMs - at);
    }
  }

  /** Reads the backlog, logs the EMF line and starts a new interval. */
  async report(client: pg.ClientBase, log: Logger): Promise<MetricsSnapshot> {
    const askedAt = Date.now();
    const { rows } = await client.query(statement('admin/backlog'));
    const answeredAt = Date.now();
    const { oldest_age_seconds: oldestEventAgeSeconds, backlog, parked, database_now_ms: databaseNowMs } = rows[0];
    const walSlot = await captureSlotBytes(client);
    // Event times are in the database's clock: shift this machine's clock onto it.
    const clockOffsetMs = databaseNowMs - (askedAt + answeredAt) / 2;
    const snapshot: MetricsSnapshot = {
      intervalSeconds: (answeredAt - this.intervalStart) / 1000,
      eventsPublished: this.published,
      publishFailures: this.failures,
      parkedNow: parked,
      backlog,
      oldestEventAgeSeconds,
      batchSizes: this.batchSizes.values,
      publishDelaysSeconds: this.rawDelaysMs.values.map((raw) => Math.max(0, raw + clockOffsetMs) / 1000),
      ...(walSlot ? { walSlot } : {}),
    };
    log.info({ msg: 'metrics', ...embeddedMetricFormat(this.bridgeName, snapshot, answeredAt) });
    this.published = 0;
    this.failures = 0;
    this.batchSizes = new Sample();
    this.rawDelaysMs = new Sample();
    this.intervalStart = answeredAt;
    return snapshot;
  }
}

/** The WAL watches' slot, when there are WAL watches and the slot exists. */
async function captureSlotBytes(client: pg.ClientBase): Promise<MetricsSnapshot['walSlot']> {
  const { rows: schema } = await client.query(statement('wal/has-capture'));
  if (!schema[0].present) return undefined;
  const { rows } = await client.query(statement('admin/status-capture-slot'));
  if (!rows[0]?.slot_exists) return undefined;
  return { unconfirmedBytes: Number(rows[0].unconfirmed_bytes), retainedBytes: Number(rows[0].retained_bytes) };
}

/** The EMF document: the `_aws` metadata naming each metric, and the values as root members. */
export function embeddedMetricFormat(bridgeName: string, snapshot: MetricsSnapshot, timestamp: number): Record<string, unknown> {
  const metrics: Array<{ Name: string; Unit: string; value: number | number[] }> = [
    { Name: 'EventsPublished', Unit: 'Count', value: snapshot.eventsPublished },
    { Name: 'PublishFailures', Unit: 'Count', value: snapshot.publishFailures },
    { Name: 'OutboxBacklog', Unit: 'Count', value: snapshot.backlog },
    { Name: 'OutboxOldestEventAgeSeconds', Unit: 'Seconds', value: snapshot.oldestEventAgeSeconds },
    { Name: 'ParkedEvents', Unit: 'Count', value: snapshot.parkedNow },
  ];
  if (snapshot.walSlot) {
    metrics.push({ Name: 'WalSlotUnconfirmedBytes', Unit: 'Bytes', value: snapshot.walSlot.unconfirmedBytes });
    metrics.push({ Name: 'WalSlotRetainedBytes', Unit: 'Bytes', value: snapshot.walSlot.retainedBytes });
  }
  // A metric with no value this interval is left out: EMF has no empty value.
  if (snapshot.batchSizes.length > 0) metrics.push({ Name: 'DrainBatchSize', Unit: 'Count', value: snapshot.batchSizes });
  if (snapshot.publishDelaysSeconds.length > 0)
    metrics.push({ Name: 'PublishDelaySeconds', Unit: 'Seconds', value: snapshot.publishDelaysSeconds });
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        { Namespace: METRICS_NAMESPACE, Dimensions: [['Bridge']], Metrics: metrics.map(({ Name, Unit }) => ({ Name, Unit })) },
      ],
    },
    Bridge: bridgeName,
    ...Object.fromEntries(metrics.map((metric) => [metric.Name, metric.value])),
  };
}

/** A uniform sample of at most MAX_VALUES values (reservoir sampling), so a busy interval stays one bounded line. */
class Sample {
  readonly values: number[] = [];
  private seen = 0;

  add(value: number): void {
    this.seen++;
    if (this.values.length < MAX_VALUES) {
      this.values.push(value);
      return;
    }
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < MAX_VALUES) this.values[slot] = value;
  }
}
