import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { capturedLogs, startTestListener, waitFor } from '../support/test-listener.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { FaultySqsProxy } from '../support/faulty-sqs-proxy.ts';

const run = promisify(execFile);
let db: TestDatabase;
let aws: TestAws;
let listener: Listener | undefined;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  await db.query(`
    CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
    CREATE TABLE "spaced name" (id text PRIMARY KEY, n int);
    CREATE TABLE notes (id int PRIMARY KEY, body text);
  `);
});

afterEach(async () => {
  await listener?.stop();
  listener = undefined;
  await db.query(`DELETE FROM pgbridge.outbox; DELETE FROM pgbridge.parked`).catch(() => undefined);
});

afterAll(async () => {
  await Promise.all([db?.stop(), aws?.stop()]);
});

describe('sinks', () => {
  it('FIFO: each row is its own message group and its events arrive in commit order, with many batches in flight', async () => {
    const topicArn = await aws.resources.createTopic(aws.name('events.fifo'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('ordered.fifo'));
    await db.query(`INSERT INTO counters SELECT g, 0 FROM generate_series(1, 20) AS g`);
    await db.query(`INSERT INTO "spaced name" VALUES ('a key with spaces', 0)`);
    // Random network delays make concurrent batch calls complete out of order.
    const endpoint = new URL(aws.endpoint);
    const proxy = new TcpProxy(Number(endpoint.port), endpoint.hostname);
    proxy.jitterMs = 30;
    await proxy.start();
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: proxy.url,
      topicArn,
      batchSize: 40,
      maxInFlight: 8,
      config: {
        watches: [
          { table: 'counters', actions: ['update'] },
          { table: 'spaced name', actions: ['update'] },
        ],
      },
    });
    // 20 rows x 10 updates, interleaved across concurrent connections.
    for (let round = 1; round <= 10; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => db.query(`UPDATE counters SET n = $1 WHERE id = $2`, [round, i + 1])));
      await db.query(`UPDATE "spaced name" SET n = $1`, [round]);
    }
    const messages = await receiveMessages(aws, queue.url, { count: 210, timeoutMs: 30_000 });
    expect(messages).toHaveLength(210);
    const seen = new Map<string, number[]>();
    for (const message of messages) {
      const sequence = seen.get(message.groupId!) ?? [];
      sequence.push(message.event.row.n);
      seen.set(message.groupId!, sequence);
    }
    expect([...seen.keys()].filter((group) => group.startsWith('public.counters:')).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `public.counters:${i + 1}`).sort(),
    );
    for (const sequence of seen.values()) expect(sequence).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // A group id AWS would refuse (spaces) is replaced by a stable hash of it.
    expect([...seen.keys()].find((group) => !group.startsWith('public.counters:'))).toMatch(/^sha256:[0-9a-f]{64}$/);
    await proxy.cut();
  });

  it('FIFO: a row whose event keeps failing holds back only that row, and the listener waits instead of spinning', async () => {
    const queue = await aws.resources.createQueue(aws.name('stuck.fifo'));
    const endpoint = new URL(aws.endpoint);
    const proxy = new FaultySqsProxy(Number(endpoint.port), { throttleCall: 0, failEntry: 0, failGroups: ['public.counters:1'] });
    await proxy.start();
    await db.query(`DELETE FROM counters; INSERT INTO counters SELECT g, 0 FROM generate_series(1, 10) AS g`);
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: proxy.url,
      queueUrl: proxy.proxiedQueueUrl(queue.url),
      batchSize: 20,
      maxInFlight: 4,
      retryBaseMs: 50,
      maxBackoffMs: 400,
      config: { watches: [{ table: 'counters', actions: ['update'] }] },
    });
    let rounds = 0;
    listener.on('drained', () => rounds++);
    // More events for the stuck row than one drain round fetches, then one for each other row.
    for (let round = 1; round <= 25; round++) await db.query(`UPDATE counters SET n = $1 WHERE id = 1`, [round]);
    await db.query(`UPDATE counters SET n = 1 WHERE id > 1`);

    const others = await receiveMessages(aws, queue.url, { count: 9, timeoutMs: 10_000 });
    expect(others.map((message) => message.event.key.id).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    rounds = 0;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Each round is a few milliseconds; a busy loop would run hundreds in 2 s.
    expect(rounds).toBeLessThan(60);

    proxy.rates = { throttleCall: 0, failEntry: 0 };
    const stuck = await receiveMessages(aws, queue.url, { count: 25, timeoutMs: 10_000 });
    expect(stuck.map((message) => message.event.row.n)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    await proxy.stop();
  });

  it('straight to one SQS queue: the simplest setup carries the same attributes and body', async () => {
    const queue = await aws.resources.createQueue(aws.name('direct'));
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      queueUrl: queue.url,
      config: { watches: [{ table: 'notes', label: 'note' }] },
    });
    await db.query(`INSERT INTO notes VALUES (1, 'hello')`);
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.attributes).toEqual({ table: 'notes', schema: 'public', action: 'insert', label: 'note' });
    expect(message!.event).toMatchObject({ action: 'insert', label: 'note', row: { id: 1, body: 'hello' } });
  });

  it('an event AWS could never carry (a table name with U+FFFE as its attribute) is parked at once, and the rest flows', async () => {
    const queue = await aws.resources.createQueue(aws.name('attributes'));
    await db.query(`CREATE TABLE "odd\uFFFEname" (id int PRIMARY KEY)`);
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      queueUrl: queue.url,
      config: { watches: [{ table: 'odd\uFFFEname' }, { table: 'notes' }] },
    });
    await db.query(`INSERT INTO "odd\uFFFEname" VALUES (1)`);
    await db.query(`INSERT INTO notes VALUES (40, 'after the odd one')`);
    const [message] = await receiveMessages(aws, queue.url, { count: 1, settleMs: 300 });
    expect(message!.event).toMatchObject({ table: 'notes', key: { id: 40 } });
    const { rows } = await db.query(`SELECT table_name, reason FROM pgbridge.parked`);
    expect(rows).toEqual([{ table_name: 'odd\uFFFEname', reason: 'attribute table contains characters AWS does not accept' }]);
    await db.query(`DELETE FROM notes WHERE id = 40`);
  });

  it('an event the sink refuses for its content is parked with the reason, does not block the rest, and can be re-sent', async () => {
    const queue = await aws.resources.createQueue(aws.name('small'), { MaximumMessageSize: '1024' });
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      queueUrl: queue.url,
      config: { watches: [{ table: 'notes' }] },
    });
    await db.query(`INSERT INTO notes VALUES (10, repeat('x', 2000))`);
    await db.query(`INSERT INTO notes SELECT g, 'fine' FROM generate_series(11, 30) AS g`);
    const delivered = await receiveMessages(aws, queue.url, { count: 20, timeoutMs: 10_000 });
    expect(delivered.map((message) => message.event.key.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM pgbridge.parked`)).rows[0].n === 1, 10_000, 'parked event');
    const { rows } = await db.query(`SELECT (key->>'id')::int AS id, reason FROM pgbridge.parked`);
    expect(rows[0]).toMatchObject({ id: 10, reason: expect.stringContaining('shorter than 1024 bytes') });
    expect(capturedLogs.some((line) => line.msg?.startsWith('event parked') && line.reason.includes('1024'))).toBe(true);

    // The cause is fixed (the queue accepts larger messages); the operator re-sends.
    await aws.resources.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { MaximumMessageSize: '262144' } }));
    const listed = await run(process.execPath, ['--import', 'tsx', 'bin/pgbridge.ts', 'parked', 'list'], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(listed.stdout).toContain('shorter than 1024 bytes');
    const resent = await run(process.execPath, ['--import', 'tsx', 'bin/pgbridge.ts', 'parked', 'resend'], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(resent.stdout).toContain('1 parked event(s) back in the outbox');
    const [again] = await receiveMessages(aws, queue.url, { count: 1, timeoutMs: 10_000 });
    expect(again!.event.key).toEqual({ id: 10 });
    expect(again!.event.row.body).toHaveLength(2000);
  });
});
