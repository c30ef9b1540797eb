import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { install } from '../../lib/capture/installer.ts';
import { statement } from '../../lib/capture/sql-files.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { buildFilterPolicy, type ConsumerFilter } from '../../lib/consumers/filter-policy.ts';
import { runCli } from '../support/cli-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener, waitFor } from '../support/test-listener.ts';
import pg from 'pg';

let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
const listeners: Listener[] = [];
const WATCHES = parseConfig({ watches: [{ table: 'orders' }, { table: 'notes' }] });

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('replay'));
  await db.query(`CREATE TABLE orders (id int PRIMARY KEY, total numeric); CREATE TABLE notes (id int PRIMARY KEY, text text)`);
});

afterEach(async () => {
  for (const listener of listeners.splice(0)) await listener.stop();
});

afterAll(async () => {
  await Promise.all([db?.stop(), aws?.stop()]);
});

async function installWith(retentionDays: number | null): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await install(client, WATCHES, { retentionDays });
  } finally {
    await client.end();
  }
}

/** A listener that installs the watches with 7 days of retention and drains to the topic. */
async function startListener(): Promise<Listener> {
  const listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, watches: WATCHES, retentionDays: 7 });
  listeners.push(listener);
  return listener;
}

const replay = (args: string[], sink: Record<string, string> = { PGBRIDGE_TOPIC_ARN: topicArn }) =>
  runCli(['replay', ...args], { DATABASE_URL: db.url, AWS_ENDPOINT_URL: aws.endpoint, AWS_REGION: 'us-east-1', ...sink });

/** A queue subscribed as pgbridge subscribes a consumer named `name` with `filter`. */
async function consumerQueue(name: string, filter: ConsumerFilter | undefined): Promise<string> {
  const { policy, scope } = buildFilterPolicy(filter, name);
  return (await aws.resources.subscribeQueue(topicArn, aws.name(name), policy, scope)).url;
}

async function outboxEmpty(): Promise<boolean> {
  return Number((await db.query(`SELECT count(*) FROM pgbridge.outbox`)).rows[0].count) === 0;
}

describe('pgbridge replay', () => {
  it('publishes retained events again with their original ids and bodies, and nothing else', async () => {
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('all'));
    await startListener();
    await db.query(`INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 5) AS g`);
    const first = await receiveMessages(aws, queue.url, { count: 5 });
    expect(first).toHaveLength(5);
    await waitFor(outboxEmpty, 5000, 'drained');

    const since = first
      .map((message) => BigInt(message.event.id))
      .sort()[0]!
      .toString();
    const result = await replay(['--since', since]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^replayed 5 event\(s\), ids \d+ to \d+ to /);
    const again = await receiveMessages(aws, queue.url, { count: 5, settleMs: 300 });
    const bodies = (messages: typeof first) => messages.map((message) => message.body).sort();
    expect(bodies(again)).toEqual(bodies(first));
    expect(again.map((message) => message.attributes)).toEqual(first.map((message) => message.attributes));
  });

  it('sends a range in id order, --until exclusive, by id or by time, limited to --table, to a queue of its own', async () => {
    await startListener();
    await db.query(`INSERT INTO notes VALUES (1, 'a')`);
    await db.query(`INSERT INTO orders VALUES (101, 1)`);
    await db.query(`UPDATE orders SET total = 2 WHERE id = 101`);
    await db.query(`INSERT INTO notes VALUES (2, 'b')`);
    await db.query(`DELETE FROM orders WHERE id = 101`);
    await waitFor(outboxEmpty, 5000, 'drained');
    const { rows } = await db.query(
      `SELECT id::text, table_name, action, to_json(at)::text AS at FROM pgbridge.published WHERE table_name = 'orders' AND key->>'id' = '101' ORDER BY id`,
    );
    expect(rows.map((row) => row.action)).toEqual(['insert', 'update', 'delete']);
    // A FIFO queue shows the order the replay sent them in.
    const fifo = await aws.resources.createQueue(aws.name('replayed.fifo'), { FifoQueue: 'true' });

    const byId = await replay(['--since', rows[0].id, '--until', rows[2].id, '--table', 'orders'], { PGBRIDGE_QUEUE_URL: fifo.url });
    expect(byId).toMatchObject({ code: 0, stdout: `replayed 2 event(s), ids ${rows[0].id} to ${rows[1].id} to sqs:${fifo.url}\n` });
    const received = await receiveMessages(aws, fifo.url, { count: 2, settleMs: 300 });
    expect(received.map((message) => [message.event.id, message.event.action])).toEqual([
      [rows[0].id, 'insert'],
      [rows[1].id, 'update'],
    ]);

    const byTime = await replay(['--since', JSON.parse(rows[0].at), '--table', 'public.orders'], {
      PGBRIDGE_QUEUE_URL: (await aws.resources.createQueue(aws.name('by-time.fifo'), { FifoQueue: 'true' })).url,
    });
    expect(byTime.stdout).toMatch(/^replayed 3 event\(s\)/);
  });

  it('--target sends the events with the target attribute, for the consumer of that name', async () => {
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('audit'), { target: ['audit'] });
    await startListener();
    await db.query(`INSERT INTO notes VALUES (10, 'target me')`);
    await waitFor(outboxEmpty, 5000, 'drained');
    const { rows } = await db.query(`SELECT id::text FROM pgbridge.published WHERE key->>'id' = '10' AND table_name = 'notes'`);
    expect(await receiveMessages(aws, queue.url, { count: 1, timeoutMs: 500 })).toEqual([]);

    const result = await replay(['--since', rows[0].id, '--table', 'notes', '--target', 'audit']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('replayed 1 event(s)') });
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.attributes).toEqual({ table: 'notes', schema: 'public', action: 'insert', target: 'audit' });
    expect(message!.event).toMatchObject({ id: rows[0].id, row: { id: 10, text: 'target me' } });
  });

  it('a targeted backfill replayed goes again as read events with its backfill id and target, to that consumer alone', async () => {
    await startListener();
    await db.query(`INSERT INTO notes SELECT g, 'existing ' || g FROM generate_series(200, 204) AS g`);
    await waitFor(outboxEmpty, 5000, 'drained');
    const crm = await consumerQueue('Crm', { table: 'notes', action: ['insert', 'read'] });
    const others = [
      await consumerQueue('Welcome', { table: 'notes', action: ['insert', 'read'] }),
      await consumerQueue('Search', { table: 'notes', action: 'read', body: { row: { text: [{ prefix: 'existing' }] } } }),
      await consumerQueue('Audit', undefined),
    ];
    const backfill = await runCli(['backfill', '--table', 'notes', '--where', 'id BETWEEN 200 AND 204', '--target', 'Crm'], {
      DATABASE_URL: db.url,
    });
    expect(backfill.code, backfill.stderr).toBe(0);
    const backfillId = /^backfill (\d+)/.exec(backfill.stdout)![1];
    const sent = await receiveMessages(aws, crm, { count: 5, settleMs: 300 });
    expect(sent).toHaveLength(5);
    for (const queue of others) expect(await receiveMessages(aws, queue, { count: 1, timeoutMs: 1000 })).toEqual([]);
    await waitFor(outboxEmpty, 5000, 'drained');
    const { rows } = await db.query(`SELECT min(id)::text AS since FROM pgbridge.published WHERE backfill_id = $1`, [backfillId]);

    const result = await replay(['--since', rows[0].since, '--table', 'notes']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^replayed 5 event\(s\)/) });
    const replayed = await receiveMessages(aws, crm, { count: 5, settleMs: 300 });
    expect(replayed.map((message) => message.body).sort()).toEqual(sent.map((message) => message.body).sort());
    for (const message of replayed) {
      expect(message.attributes).toEqual({ table: 'notes', schema: 'public', action: 'read', target: 'Crm' });
      expect(message.event).toMatchObject({
        action: 'read',
        backfill: backfillId,
        target: 'Crm',
        row: { text: `existing ${message.event.key.id}` },
      });
    }
    expect(replayed.map((message) => message.event.key.id).sort()).toEqual([200, 201, 202, 203, 204]);
    for (const queue of others) expect(await receiveMessages(aws, queue, { count: 1, timeoutMs: 1000 })).toEqual([]);

    // --target gives the range to another consumer instead, one that filters on the body.
    const retargeted = await replay(['--since', rows[0].since, '--table', 'notes', '--target', 'Search']);
    expect(retargeted).toMatchObject({ code: 0, stdout: expect.stringMatching(/^replayed 5 event\(s\)/) });
    const toSearch = await receiveMessages(aws, others[1]!, { count: 5, settleMs: 300 });
    expect(toSearch.map((message) => [message.attributes.target, message.event.target, message.event.backfill])).toEqual(
      Array(5).fill(['Search', 'Search', backfillId]),
    );
    for (const queue of [crm, others[0]!, others[2]!]) expect(await receiveMessages(aws, queue, { count: 1, timeoutMs: 1000 })).toEqual([]);
  });

  it('--target reaches only that consumer where consumers filter on the body too', async () => {
    await startListener();
    await db.query(`INSERT INTO notes VALUES (300, 'body filtered')`);
    await waitFor(outboxEmpty, 5000, 'drained');
    const { rows } = await db.query(`SELECT id::text FROM pgbridge.published WHERE table_name = 'notes' AND key->>'id' = '300'`);
    const wanted = await consumerQueue('Wanted', { table: 'notes', body: { key: { id: [300] } } });
    const other = await consumerQueue('Other', { table: 'notes', body: { key: { id: [300] } } });

    const result = await replay(['--since', rows[0].id, '--table', 'notes', '--target', 'Wanted']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('replayed 1 event(s)') });
    expect(await receiveMessages(aws, other, { count: 1, timeoutMs: 1500 })).toEqual([]);
    const [message] = await receiveMessages(aws, wanted, { count: 1 });
    expect(message!.event).toMatchObject({ id: rows[0].id, action: 'insert', target: 'Wanted', row: { id: 300, text: 'body filtered' } });
    expect(message!.event).not.toHaveProperty('backfill');
  });

  it('keeps to --rate, says how far it got, and live events keep arriving while a replay runs', async () => {
    const live = await aws.resources.subscribeQueue(topicArn, aws.name('live'), { table: ['orders'] });
    await startListener();
    await db.query(`INSERT INTO notes SELECT g, 'bulk' FROM generate_series(1000, 1119) AS g`);
    await waitFor(outboxEmpty, 10_000, 'drained');
    const since = (await db.query(`SELECT min(id)::text AS id FROM pgbridge.published WHERE table_name = 'notes' AND key->>'id' = '1000'`))
      .rows[0].id;

    const started = Date.now();
    const replaying = replay(['--since', since, '--table', 'notes', '--rate', '20']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await db.query(`INSERT INTO orders VALUES (5000, 1)`);
    const [liveEvent] = await receiveMessages(aws, live.url, { count: 1, timeoutMs: 2500 });
    const liveArrivedAfter = Date.now() - started;
    const result = await replaying;
    const took = Date.now() - started;
    expect(liveEvent?.event).toMatchObject({ table: 'orders', key: { id: 5000 } });
    expect(result.stdout).toMatch(/^replayed 120 event\(s\)/);
    // 120 events at 20 a second: about six seconds, and the live event did not wait for them.
    expect(took).toBeGreaterThanOrEqual(5900);
    expect(liveArrivedAfter).toBeLessThan(took);
    expect(result.stderr).toMatch(/^(pgbridge replay: \d+ event\(s\) so far, up to id \d+\n)+$/);
  });

  it('drops whole days past the retention and says where the kept events begin', async () => {
    await startListener();
    await db.query(`INSERT INTO notes VALUES (20, 'recent')`);
    await waitFor(outboxEmpty, 5000, 'drained');
    await db.query(`
      CREATE TABLE pgbridge.published_20200101 PARTITION OF pgbridge.published FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-01-02 00:00:00+00');
      INSERT INTO pgbridge.published (id, schema_name, table_name, action, key, row_data, txid, at, published_at)
      VALUES (1, 'public', 'notes', 'insert', '{"id":1}', '{"id":1}', 1, '2020-01-01 10:00+00', '2020-01-01 10:00:01+00')`);
    await db.query(statement('admin/maintain-published'));
    expect((await db.query(`SELECT to_regclass('pgbridge.published_20200101') AS gone`)).rows[0].gone).toBeNull();
    const partitions = (await db.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'pgbridge.published'::regclass`))
      .rows[0].n;
    expect(partitions).toBe(3);

    const result = await replay(['--since', '2020-01-01', '--until', '2020-01-02']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /the oldest event still kept is \d+ \(at \d{4}-.*\); older ones expired or were published before retention was on/,
    );
    expect(result.stdout).toMatch(/^replayed 0 event\(s\) to /);
  });

  it('stops with exit 1 when the sink stays unreachable, naming the event to resume from', async () => {
    await startListener();
    await db.query(`INSERT INTO notes VALUES (30, 'resume')`);
    await waitFor(outboxEmpty, 5000, 'drained');
    const { rows } = await db.query(`SELECT id::text FROM pgbridge.published WHERE table_name = 'notes' AND key->>'id' = '30'`);
    const result = await runCli(['replay', '--since', rows[0].id], {
      DATABASE_URL: db.url,
      PGBRIDGE_TOPIC_ARN: topicArn,
      AWS_REGION: 'us-east-1',
      // Nothing listens there.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`replay stopped: the sink refused event ${rows[0].id} 5 times`);
    expect(result.stderr).toContain(`0 event(s) were replayed. Run the same replay with --since ${rows[0].id} to go on`);
  });

  it('says clearly that nothing is kept without retention, and sends nothing', async () => {
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('off'));
    await installWith(null);
    const result = await replay(['--since', '1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'nothing to replay: retention is off, so published events are deleted once AWS accepts them. Set "retention": "7d"',
    );
    expect(await receiveMessages(aws, queue.url, { count: 1, timeoutMs: 500 })).toEqual([]);
    expect((await db.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'pgbridge.published'::regclass`)).rows[0].n).toBe(
      0,
    );
  });

  it.each([
    [
      ['--since', 'yesterday'],
      /option '--since <id\|time>' argument 'yesterday' is invalid\. "yesterday" is neither an event id \(digits\) nor an ISO 8601 time/,
    ],
    [['--since', '1', '--target', 'has space'], /"has space" is not a target name/],
    [['--since', '1', '--rate', '0'], /--rate <events>' argument '0' is invalid/],
    [['--until', '5'], /required option '--since <id\|time>' not specified/],
    [['--since', '10', '--until', '10'], /--until 10 is not after --since 10: the range is empty \(--until is exclusive\)/],
    [
      ['--since', '2026-12-02T10:00:00+01:00', '--until', '2026-12-02'],
      /--until 2026-12-02T00:00:00.000Z is not after --since 2026-12-02T09:00:00.000Z/,
    ],
    [
      ['--since', '1', '--table', 'nope'],
      /--table public\.nope: not a watched table, and no retained event comes from it \(watched: public\.notes, public\.orders\)/,
    ],
  ])('refuses %j with exit code 2, naming the bad value, and sends nothing', async (args, message) => {
    await installWith(7);
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('bad'));
    const result = await replay(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(await receiveMessages(aws, queue.url, { count: 1, timeoutMs: 300 })).toEqual([]);
  });

  it('refuses a database where pgbridge is not installed', async () => {
    await db.query(`CREATE DATABASE without_pgbridge`);
    const other = new URL(db.url);
    other.pathname = '/without_pgbridge';
    const result = await runCli(['replay', '--since', '1'], {
      DATABASE_URL: other.toString(),
      PGBRIDGE_TOPIC_ARN: topicArn,
      AWS_ENDPOINT_URL: aws.endpoint,
    });
    expect(result).toMatchObject({ code: 2, stderr: 'pgbridge: pgbridge is not installed in this database: nothing to replay\n' });
  });
});
