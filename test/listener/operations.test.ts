import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { spawnListener, type ListenerProcess } from '../support/listener-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { capturedLogs, startTestListener, waitFor } from '../support/test-listener.ts';

const run = promisify(execFile);
const MAIN = 'functions/listener/main.ts';
let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
const started: Array<Listener | ListenerProcess> = [];

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase({ embedded: true }), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('operations'));
  await db.query(`
    CREATE ROLE pgbridge_app LOGIN PASSWORD 'pw-do-not-log-9f3k';
    CREATE TABLE alpha (id int PRIMARY KEY); CREATE TABLE beta (id int PRIMARY KEY); CREATE TABLE gamma (id int PRIMARY KEY);
  `);
});

afterEach(async () => {
  for (const listener of started.splice(0)) {
    if ('child' in listener) {
      listener.child.kill('SIGKILL');
      await listener.exited;
    } else await listener.stop();
  }
});

afterAll(async () => {
  await Promise.all([db?.stop(), aws?.stop()]);
});

function urlWithPassword(): string {
  const url = new URL(db.url);
  url.username = 'pgbridge_app';
  url.password = 'pw-do-not-log-9f3k';
  return url.toString();
}

describe('operations', () => {
  it('the health endpoint answers 200 while connected and 503 while Postgres is down', async () => {
    const listener = spawnListener({
      DATABASE_URL: db.url,
      PGBRIDGE_TOPIC_ARN: topicArn,
      AWS_ENDPOINT_URL: aws.endpoint,
      PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'alpha' }] }),
    });
    started.push(listener);
    await waitFor(async () => (await listener.role()) === 'leader', 20_000, 'leader');
    expect((await fetch(listener.healthUrl)).status).toBe(200);
    await db.server!.stop('fast');
    await waitFor(async () => (await fetch(listener.healthUrl)).status === 503, 10_000, '503 while down');
    await db.server!.start();
    await waitFor(async () => (await fetch(listener.healthUrl)).status === 200, 20_000, '200 after restart');
  });

  it('a dropped or renamed watched table is reported in the log and the other tables keep flowing', async () => {
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('gamma'), { table: ['gamma'] });
    const listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      topicArn,
      watchCheckIntervalMs: 100,
      config: { watches: [{ table: 'alpha' }, { table: 'beta' }, { table: 'gamma' }] },
    });
    started.push(listener);
    await db.query(`ALTER TABLE alpha RENAME TO alpha_renamed; DROP TABLE beta`);
    await db.query(`INSERT INTO gamma VALUES (1)`);
    await waitFor(() => capturedLogs.some((line) => /table public\.beta was dropped/.test(line.msg ?? '')), 5000, 'dropped log');
    await waitFor(
      () => capturedLogs.some((line) => /public\.alpha was renamed to public\.alpha_renamed/.test(line.msg ?? '')),
      5000,
      'renamed log',
    );
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.event).toMatchObject({ table: 'gamma', key: { id: 1 } });
    await db.query(`ALTER TABLE alpha_renamed RENAME TO alpha; CREATE TABLE beta (id int PRIMARY KEY)`);
  });

  it('logs are JSON lines with backlog metrics in CloudWatch EMF, and never contain the database password', async () => {
    await db.query(`SELECT pgbridge.grant_listener('pgbridge_app')`);
    const listener = spawnListener({
      DATABASE_URL: urlWithPassword(),
      PGBRIDGE_TOPIC_ARN: topicArn,
      // Nothing listens there: the sink errors are logged too, and must not leak anything.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      PGBRIDGE_NO_INSTALL: 'true',
      PGBRIDGE_METRICS_INTERVAL_MS: '100',
      PGBRIDGE_NAME: 'ops-test',
    });
    started.push(listener);
    await waitFor(async () => (await listener.role()) === 'leader', 20_000, 'leader');
    await db.query(`INSERT INTO alpha VALUES (100)`);
    await waitFor(() => listener.logs.some((line) => line.msg === 'sink unreachable, events stay in the outbox'), 10_000, 'sink error');
    await waitFor(
      () => listener.logs.some((line) => line.msg === 'metrics' && line.OutboxOldestEventAgeSeconds > 0),
      10_000,
      'backlog metric',
    );
    const metric = listener.logs.find((line) => line.msg === 'metrics' && line.OutboxOldestEventAgeSeconds > 0);
    expect(metric._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'pgbridge', Dimensions: [['Bridge']] });
    expect(metric.Bridge).toBe('ops-test');
    const everything = JSON.stringify(listener.logs);
    expect(everything).not.toContain('pw-do-not-log-9f3k');
    expect(listener.logs.filter((line) => line.raw !== undefined && line.raw !== '')).toEqual([]);
    await db.query(`DELETE FROM pgbridge.outbox`);
  });

  it('PGBRIDGE_SNS_CLIENT=sdk publishes through the AWS SDK instead, with the same messages', async () => {
    await db.query(`DELETE FROM pgbridge.outbox`);
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('sdk-client'), { table: ['alpha'] });
    const listener = spawnListener({
      DATABASE_URL: db.url,
      PGBRIDGE_TOPIC_ARN: topicArn,
      AWS_ENDPOINT_URL: aws.endpoint,
      PGBRIDGE_SNS_CLIENT: 'sdk',
      PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'alpha' }] }),
    });
    started.push(listener);
    await waitFor(async () => (await listener.role()) === 'leader', 20_000, 'leader');
    await db.query(`INSERT INTO alpha VALUES (42)`);
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.attributes).toEqual({ table: 'alpha', schema: 'public', action: 'insert' });
    expect(message!.event).toMatchObject({ table: 'alpha', action: 'insert', key: { id: 42 } });
    expect(listener.logs.find((line) => line.msg === 'starting')?.sink).toBe(`sns:${topicArn} (AWS SDK client)`);
  });

  it('an invalid environment stops the listener at once with a message naming the variable', async () => {
    const env = { ...process.env, DATABASE_URL: db.url, PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'alpha' }] }) };
    const noSink = await run(process.execPath, ['--import', 'tsx', MAIN], { env }).catch((error) => error);
    expect(noSink.code).toBe(2);
    expect(noSink.stdout).toContain('set PGBRIDGE_TOPIC_ARN (an SNS topic) or PGBRIDGE_QUEUE_URL (an SQS queue)');
    const badNumber = await run(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...env, PGBRIDGE_TOPIC_ARN: topicArn, PGBRIDGE_BATCH_SIZE: 'lots' },
    }).catch((error) => error);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stdout).toContain('PGBRIDGE_BATCH_SIZE');
    const badClient = await run(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...env, PGBRIDGE_TOPIC_ARN: topicArn, PGBRIDGE_SNS_CLIENT: 'fast' },
    }).catch((error) => error);
    expect(badClient.code).toBe(2);
    expect(badClient.stdout).toContain('PGBRIDGE_SNS_CLIENT');
    const badConfig = await run(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...env, PGBRIDGE_TOPIC_ARN: topicArn, AWS_ENDPOINT_URL: aws.endpoint, PGBRIDGE_CONFIG_JSON: '{"watches":[{"table":"nope"}]}' },
    }).catch((error) => error);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stdout).toContain('watch \\"public.nope\\": table public.nope does not exist');
  });

  it('with PGBRIDGE_INSTALL_RETRY a missing watched table is waited for (healthy, logged), then captured', async () => {
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('late'), { table: ['late_table'] });
    const listener = spawnListener({
      DATABASE_URL: db.url,
      PGBRIDGE_TOPIC_ARN: topicArn,
      AWS_ENDPOINT_URL: aws.endpoint,
      PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'late_table' }] }),
      PGBRIDGE_INSTALL_RETRY: 'true',
    });
    started.push(listener);
    await waitFor(async () => (await listener.role()) === 'installing', 20_000, 'installing');
    expect((await fetch(listener.healthUrl)).status).toBe(200);
    expect(listener.logs.some((line) => /table public\.late_table does not exist; retrying/.test(line.msg ?? ''))).toBe(true);
    await db.query(`CREATE TABLE late_table (id int PRIMARY KEY)`);
    await waitFor(async () => (await listener.role()) === 'leader', 20_000, 'leader after the table exists');
    await db.query(`INSERT INTO late_table VALUES (1)`);
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.event).toMatchObject({ table: 'late_table', key: { id: 1 } });
  });

  it('--no-install on a database without pgbridge says how to fix it', async () => {
    await db.query(`CREATE DATABASE empty_db`);
    const url = new URL(db.url);
    url.pathname = '/empty_db';
    const retrying = spawnListener({
      DATABASE_URL: url.toString(),
      PGBRIDGE_TOPIC_ARN: topicArn,
      AWS_ENDPOINT_URL: aws.endpoint,
      PGBRIDGE_NO_INSTALL: 'true',
    });
    started.push(retrying);
    await waitFor(
      () => retrying.logs.some((line) => /pgbridge is not installed in this database.*run `pgbridge install`/.test(line.error ?? '')),
      15_000,
      'not installed error',
    );
  });

  it('--no-install on a schema older than the listener says to upgrade it, and drains once it is upgraded', async () => {
    await db.query(`CREATE DATABASE older_schema_db`);
    const url = new URL(db.url);
    url.pathname = '/older_schema_db';
    const client = new pg.Client(url.toString());
    await client.connect();
    await client.query(`CREATE TABLE delta (id int PRIMARY KEY)`);
    await install(client, parseConfig({ watches: [{ table: 'delta' }] }));
    // What an install by the previous version left: no tables for `pgbridge status`.
    await client.query(`DROP TABLE pgbridge.published_count, pgbridge.leadership`);
    await client.query(`INSERT INTO delta VALUES (1)`);
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('delta'));
    const waiting = spawnListener({
      DATABASE_URL: url.toString(),
      PGBRIDGE_TOPIC_ARN: topicArn,
      AWS_ENDPOINT_URL: aws.endpoint,
      PGBRIDGE_NO_INSTALL: 'true',
    });
    started.push(waiting);
    await waitFor(
      () => waiting.logs.some((line) => /older than this listener.*run `pgbridge install` of this version/.test(line.error ?? '')),
      15_000,
      'older schema error',
    );

    await install(client, parseConfig({ watches: [{ table: 'delta' }] }));
    await client.end();
    const [message] = await receiveMessages(aws, queue.url, { count: 1, timeoutMs: 20_000 });
    expect(message!.event).toMatchObject({ table: 'delta', key: { id: 1 } });
  });
});
