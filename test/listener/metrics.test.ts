import { Ajv } from 'ajv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { capturedLogs, startTestListener, waitFor } from '../support/test-listener.ts';

/**
 * The document structure of CloudWatch's Embedded Metric Format specification: the `_aws`
 * metadata with a millisecond Timestamp and metric directives (namespace, dimension sets of at
 * most 30 keys, at most 100 metric definitions with the units CloudWatch knows).
 */
const EMF_SCHEMA = {
  type: 'object',
  required: ['_aws'],
  properties: {
    _aws: {
      type: 'object',
      required: ['Timestamp', 'CloudWatchMetrics'],
      properties: {
        Timestamp: { type: 'integer', minimum: 0 },
        CloudWatchMetrics: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['Namespace', 'Dimensions', 'Metrics'],
            properties: {
              Namespace: { type: 'string', minLength: 1, maxLength: 255 },
              Dimensions: {
                type: 'array',
                items: { type: 'array', maxItems: 30, items: { type: 'string', minLength: 1, maxLength: 250 } },
              },
              Metrics: {
                type: 'array',
                maxItems: 100,
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['Name'],
                  properties: {
                    Name: { type: 'string', minLength: 1, maxLength: 1024 },
                    Unit: {
                      enum: [
                        'Seconds',
                        'Microseconds',
                        'Milliseconds',
                        'Bytes',
                        'Kilobytes',
                        'Megabytes',
                        'Gigabytes',
                        'Terabytes',
                        'Bits',
                        'Kilobits',
                        'Megabits',
                        'Gigabits',
                        'Terabits',
                        'Percent',
                        'Count',
                        'Bytes/Second',
                        'Kilobytes/Second',
                        'Megabytes/Second',
                        'Gigabytes/Second',
                        'Terabytes/Second',
                        'Bits/Second',
                        'Kilobits/Second',
                        'Megabits/Second',
                        'Gigabits/Second',
                        'Terabits/Second',
                        'Count/Second',
                        'None',
                      ],
                    },
                    StorageResolution: { enum: [1, 60] },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;
const validateEmf = new Ajv({ allErrors: true }).compile(EMF_SCHEMA);

/**
 * What CloudWatch extracts from a valid document: every dimension named must be a string member
 * of the root, every metric a number or an array of at most 100 numbers.
 */
function extractMetrics(line: any): Record<string, number | number[]> {
  expect(validateEmf(line), JSON.stringify(validateEmf.errors)).toBe(true);
  const extracted: Record<string, number | number[]> = {};
  for (const directive of line._aws.CloudWatchMetrics) {
    for (const dimension of directive.Dimensions.flat()) expect(typeof line[dimension], `dimension ${dimension}`).toBe('string');
    for (const { Name } of directive.Metrics) {
      const value = line[Name];
      const numbers = Array.isArray(value) ? value : [value];
      expect(numbers.length, `values of ${Name}`).toBeGreaterThan(0);
      expect(numbers.length, `values of ${Name}`).toBeLessThanOrEqual(100);
      for (const number of numbers) expect(Number.isFinite(number), `${Name}: ${JSON.stringify(value)}`).toBe(true);
      extracted[Name] = value;
    }
  }
  return extracted;
}

let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
const started: Listener[] = [];

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('metrics'));
  await db.query(`CREATE TABLE metered (id int PRIMARY KEY, note text)`);
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((listener) => listener.stop()));
  await db.query(`DELETE FROM pgbridge.outbox`);
  capturedLogs.length = 0;
});
afterAll(async () => Promise.all([db?.stop(), aws?.stop()]));

async function listen(overrides: { endpoint?: string; bridgeName: string }) {
  const listener = await startTestListener({
    databaseUrl: db.url,
    endpoint: overrides.endpoint ?? aws.endpoint,
    topicArn,
    config: { watches: [{ table: 'metered' }] },
    metricsIntervalMs: 300,
    bridgeName: overrides.bridgeName,
  });
  started.push(listener);
  return listener;
}

const metricLines = (bridge: string) => capturedLogs.filter((line) => line.msg === 'metrics' && line.Bridge === bridge);

describe('listener metrics (CloudWatch Embedded Metric Format)', () => {
  it('every interval the leader logs one EMF document: events published, batch sizes, delay, backlog, oldest age and parked', async () => {
    await listen({ bridgeName: 'emf-publish' });
    await db.query(`INSERT INTO metered SELECT n, 'x' FROM generate_series(1, 120) AS n`);
    const published = () => metricLines('emf-publish').reduce((sum, line) => sum + line.EventsPublished, 0);
    await waitFor(() => published() >= 120, 15_000, 'metrics counting 120 published events');

    const lines = metricLines('emf-publish').map(extractMetrics);
    expect(published()).toBe(120);
    expect(lines.every((line) => line.PublishFailures === 0 && line.ParkedEvents === 0)).toBe(true);
    const busy = lines.filter((line) => (line.EventsPublished as number) > 0);
    const batchSizes = busy.flatMap((line) => line.DrainBatchSize as number[]);
    expect(batchSizes.reduce((sum, size) => sum + size, 0)).toBeGreaterThanOrEqual(120);
    for (const delay of busy.flatMap((line) => line.PublishDelaySeconds as number[])) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(10);
    }
    await waitFor(() => metricLines('emf-publish').at(-1)?.EventsPublished === 0, 5000, 'an idle interval reported');
    const idle = extractMetrics(metricLines('emf-publish').at(-1));
    expect(idle).toMatchObject({ EventsPublished: 0, OutboxBacklog: 0, OutboxOldestEventAgeSeconds: 0 });
    // An interval without rounds has no batch sizes or delays rather than an empty value.
    expect(idle).not.toHaveProperty('DrainBatchSize');
  });

  it('while the topic is unreachable, the backlog, its age and the failed entries are reported and nothing counts as published', async () => {
    await listen({ bridgeName: 'emf-down', endpoint: 'http://127.0.0.1:9' });
    await db.query(`INSERT INTO metered SELECT n, 'x' FROM generate_series(1001, 1007) AS n`);
    await waitFor(
      () =>
        metricLines('emf-down').some(
          (line) => line.OutboxBacklog === 7 && line.OutboxOldestEventAgeSeconds > 0.5 && line.PublishFailures > 0,
        ),
      15_000,
      'a backlog of 7 with failures',
    );
    const lines = metricLines('emf-down').map(extractMetrics);
    expect(lines.reduce((sum, line) => sum + (line.EventsPublished as number), 0)).toBe(0);
    expect(lines.reduce((sum, line) => sum + (line.PublishFailures as number), 0)).toBeGreaterThanOrEqual(7);
    expect(lines.every((line) => !('PublishDelaySeconds' in line))).toBe(true);
  });

  it("the delay is measured from the writing transaction's start, so a long transaction counts in it", async () => {
    await listen({ bridgeName: 'emf-delay' });
    await db.query(`BEGIN; INSERT INTO metered VALUES (2001, 'slow'); SELECT pg_sleep(1.5); COMMIT;`);
    await waitFor(() => metricLines('emf-delay').some((line) => line.EventsPublished > 0), 10_000, 'the event published');
    const delays = metricLines('emf-delay').flatMap((line) => (line.PublishDelaySeconds as number[] | undefined) ?? []);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(1.5);
    expect(delays[0]).toBeLessThan(6);
  });

  it('a listener waiting in "installing" (a watched table that does not exist yet) logs no metrics, which the not-reporting alarm treats as breaching', async () => {
    const listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      topicArn,
      config: { watches: [{ table: 'not_created_yet' }] },
      retryInstall: true,
      metricsIntervalMs: 100,
      bridgeName: 'emf-installing',
    });
    started.push(listener);
    await waitFor(() => listener.role === 'installing', 10_000, 'the installing role');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(listener.role).toBe('installing');
    expect(metricLines('emf-installing')).toEqual([]);
  });
});
