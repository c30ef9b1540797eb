import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { buildFilterPolicy, type ConsumerFilter } from '../../lib/consumers/filter-policy.ts';
import { runCli } from '../support/cli-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener, waitFor } from '../support/test-listener.ts';

const CLI = fileURLToPath(new URL('../../bin/pgbridge.ts', import.meta.url));

let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
let listener: Listener | undefined;

const WATCHES = [
  { table: 'users', actions: ['insert'], label: 'signup' },
  { table: 'users', actions: ['update'], columns: ['plan'], payload: ['id', 'email', 'plan'], label: 'plan_changed' },
  { table: 'shop.line_items', exclude: ['secret'] },
  { table: 'no_key' },
];

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('backfill'));
  await db.query(`
    CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, plan text NOT NULL, note text);
    INSERT INTO users SELECT n, 'user' || n || '@example.com', CASE WHEN n % 10 = 0 THEN 'pro' ELSE 'free' END, 'n' || n FROM generate_series(1, 2500) AS n;
    CREATE SCHEMA shop;
    CREATE TABLE shop.line_items (order_id int, line int, sku text, secret text, PRIMARY KEY (order_id, line));
    INSERT INTO shop.line_items SELECT o, l, 'sku-' || o || '-' || l, 'hidden' FROM generate_series(1, 30) AS o, generate_series(1, 3) AS l;
    CREATE TABLE no_key (a int);
    CREATE TABLE unwatched (id int PRIMARY KEY);
  `);
  listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, config: { watches: WATCHES as never } });
});

afterAll(async () => {
  await listener?.stop();
  await Promise.all([db?.stop(), aws?.stop()]);
});

/** A queue subscribed as pgbridge subscribes a consumer named `name` with `filter`. */
async function consumerQueue(name: string, filter: ConsumerFilter | undefined): Promise<string> {
  const { policy, scope } = buildFilterPolicy(filter, name);
  return (await aws.resources.subscribeQueue(topicArn, aws.name(name), policy, scope)).url;
}

const pgbridge = (...args: string[]) => runCli(args, { DATABASE_URL: db.url });

async function outboxCount(): Promise<number> {
  return Number((await db.query(`SELECT count(*) FROM pgbridge.outbox`)).rows[0].count);
}

describe('pgbridge backfill', () => {
  it('sends one read event per row, with the watch columns and label, old and changed null, and the backfill id', async () => {
    const queue = await consumerQueue('Indexer', { table: 'users', action: ['read'] });
    const run = await pgbridge('backfill', '--table', 'users', '--label', 'plan_changed', '--chunk', '700');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^backfill (\d+) of public\.users#plan_changed: starting, about \d+ rows in all\n/);
    expect(run.stdout).toMatch(/backfill \d+ done: 2500 rows sent as read events\n$/);
    const backfillId = /^backfill (\d+)/.exec(run.stdout)![1];

    const messages = await receiveMessages(aws, queue, { count: 2500, timeoutMs: 60_000, settleMs: 500 });
    expect(messages).toHaveLength(2500);
    expect(new Set(messages.map((message) => message.event.key.id)).size).toBe(2500);
    const first = messages.find((message) => message.event.key.id === 10)!;
    expect(first.attributes).toEqual({ table: 'users', schema: 'public', action: 'read', label: 'plan_changed' });
    expect(first.event).toMatchObject({
      schema: 'public',
      table: 'users',
      action: 'read',
      label: 'plan_changed',
      key: { id: 10 },
      row: { id: 10, email: 'user10@example.com', plan: 'pro' },
      old: null,
      changed: null,
      backfill: backfillId,
    });
    expect(Object.keys(first.event.row)).toEqual(['id', 'email', 'plan']);
    expect(first.event).not.toHaveProperty('target');
    // Keyset order: the events of one backfill are numbered in key order.
    const byId = [...messages].sort((a, b) => Number(BigInt(a.event.id) - BigInt(b.event.id)));
    expect(byId.map((message) => message.event.key.id)).toEqual(Array.from({ length: 2500 }, (_, index) => index + 1));
  }, 180_000);

  it('a composite key is read in key order with --where, and exclude leaves the excluded column out', async () => {
    const queue = await consumerQueue('Lines', { table: 'shop.line_items', action: 'read' });
    const run = await pgbridge('backfill', '--table', 'shop.line_items', '--where', "sku LIKE 'sku-1%' AND line <> 2", '--chunk', '4');
    expect(run.code, run.stderr).toBe(0);
    // Orders 1 and 10-19, lines 1 and 3.
    const messages = await receiveMessages(aws, queue, { count: 22, settleMs: 500 });
    expect(messages).toHaveLength(22);
    const keys = messages
      .sort((a, b) => Number(BigInt(a.event.id) - BigInt(b.event.id)))
      .map((message) => `${message.event.key.order_id}:${message.event.key.line}`);
    expect(keys).toEqual([1, ...Array.from({ length: 10 }, (_, index) => 10 + index)].flatMap((order) => [`${order}:1`, `${order}:3`]));
    for (const message of messages)
      expect(message.event.row).toEqual({ order_id: message.event.key.order_id, line: message.event.key.line, sku: expect.any(String) });
  });

  it('consumers that do not list read never see backfill events; live changes still reach them', async () => {
    const signup = await consumerQueue('SignupEmail', { table: 'users', label: 'signup' });
    const everything = await consumerQueue('Audit', undefined);
    const run = await pgbridge('backfill', '--table', 'users', '--label', 'signup', '--where', 'id <= 50');
    expect(run.code, run.stderr).toBe(0);
    await db.query(`INSERT INTO users VALUES (9001, 'new@example.com', 'free', NULL)`);
    for (const queue of [signup, everything]) {
      const messages = await receiveMessages(aws, queue, { count: 1, settleMs: 1500 });
      expect(messages.map((message) => `${message.event.action}:${message.event.key.id}`)).toEqual(['insert:9001']);
    }
  });

  it('--target sends the events to the named consumer alone; untargeted live events still reach every consumer', async () => {
    const welcome = await consumerQueue('Welcome', { table: 'users', action: ['insert', 'read'] });
    const crm = await consumerQueue('Crm', { table: 'users', action: ['insert', 'read'] });
    const crmByBody = await consumerQueue('CrmByBody', { table: 'users', action: ['insert', 'read'], body: { row: { plan: ['pro'] } } });
    const run = await pgbridge('backfill', '--table', 'users', '--label', 'signup', '--where', "plan = 'pro'", '--target', 'Crm');
    expect(run.code, run.stderr).toBe(0);
    await db.query(`INSERT INTO users VALUES (9002, 'pro@example.com', 'pro', NULL)`);

    const toCrm = await receiveMessages(aws, crm, { count: 251, timeoutMs: 30_000, settleMs: 500 });
    expect(toCrm.filter((message) => message.event.action === 'read')).toHaveLength(250);
    const read = toCrm.find((message) => message.event.action === 'read')!;
    expect(read.attributes).toMatchObject({ action: 'read', target: 'Crm' });
    expect(read.event.target).toBe('Crm');
    expect(toCrm.filter((message) => message.event.action === 'insert').map((message) => message.event.key.id)).toEqual([9002]);
    for (const queue of [welcome, crmByBody]) {
      const messages = await receiveMessages(aws, queue, { count: 1, settleMs: 1500 });
      expect(messages.map((message) => `${message.event.action}:${message.event.key.id}`)).toEqual(['insert:9002']);
    }
  });

  it('a parked targeted event keeps its target when resent', async () => {
    const crm = await consumerQueue('Crm', { table: 'users', action: 'read' });
    const other = await consumerQueue('Other', { table: 'users', action: 'read' });
    await db.query(`
      INSERT INTO pgbridge.parked (id, schema_name, table_name, action, label, key, row_data, backfill_id, target, txid, at, reason)
      VALUES (42, 'public', 'users', 'read', 'signup', '{"id": 7}', '{"id": 7}', 1, 'Crm', 1, now(), 'refused by the sink')`);
    expect(await pgbridge('parked', 'resend', '--id', '42')).toMatchObject({ code: 0 });
    const [resent] = await receiveMessages(aws, crm, { count: 1 });
    expect(resent).toMatchObject({ attributes: { action: 'read', target: 'Crm' }, event: { id: '42', backfill: '1', target: 'Crm' } });
    expect(await receiveMessages(aws, other, { count: 1, timeoutMs: 1500 })).toEqual([]);
  });

  it('bad input is refused with a message naming it, exit 2, and nothing is sent', async () => {
    await waitFor(async () => (await outboxCount()) === 0, 30_000, 'an empty outbox');
    const usersBefore = (await db.query(`SELECT count(*) FROM users`)).rows[0].count;
    const cases: Array<[string[], RegExp]> = [
      [
        ['--table', 'userz'],
        /^pgbridge: --table public\.userz: there is no such table \(watched tables: public\.no_key, public\.users, shop\.line_items\)\n$/,
      ],
      [
        ['--table', 'unwatched'],
        /--table public\.unwatched: the table has no installed watch .*add one to pgbridge\.config\.json and run pgbridge install/,
      ],
      [
        ['--table', 'users'],
        /--table public\.users has 2 watches \(labels: plan_changed, signup\): choose the one whose columns and label the events get with --label/,
      ],
      [
        ['--table', 'users', '--label', 'signup_'],
        /--label signup_: public\.users has no watch with that label \(labels: plan_changed, signup\)/,
      ],
      [
        ['--table', 'no_key'],
        /public\.no_key has no primary key: a backfill reads rows in key order to resume where it stopped; add a primary key to backfill it/,
      ],
      [
        ['--table', 'users', '--label', 'signup', '--where', 'plan = '],
        /^pgbridge: --where "plan = ": syntax error at or near "\)" \(nothing was sent\)\n$/,
      ],
      [
        ['--table', 'users', '--label', 'signup', '--where', 'plna = 1'],
        /--where "plna = 1": column "plna" does not exist \(nothing was sent\)/,
      ],
      [
        ['--table', 'users', '--label', 'signup', '--where', 'true); DELETE FROM users; SELECT (1'],
        /cannot insert multiple commands into a prepared statement \(nothing was sent\)/,
      ],
      [['--label', 'signup'], /^pgbridge backfill: required option '--table <table>' not specified\n/],
      [
        ['--table', 'users', '--label', 'signup', '--chunk', '0'],
        /option '--chunk <rows>' argument '0' is invalid\. expected a whole number of at least 1/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await pgbridge('backfill', ...args);
      expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(message) });
    }
    expect(await outboxCount()).toBe(0);
    expect((await db.query(`SELECT count(*) FROM users`)).rows[0].count).toBe(usersBefore);
  });

  it('a database without pgbridge is told to install it', async () => {
    const bare = await startTestDatabase();
    try {
      const run = await runCli(['backfill', '--table', 'users'], { DATABASE_URL: bare.url });
      expect(run).toMatchObject({ code: 2, stderr: 'pgbridge: pgbridge is not installed in this database: run pgbridge install first\n' });
    } finally {
      await bare.stop();
    }
  });

  it('killed with SIGKILL, the same command continues after the last finished chunk; --restart starts over; status lists them', async () => {
    const queue = await consumerQueue('Resumed', { table: 'users', action: 'read' });
    await listener!.stop();
    listener = undefined;
    const args = ['backfill', '--table', 'users', '--label', 'signup', '--where', 'id <= 2500', '--chunk', '1000'];
    // With no listener publishing, the backfill writes its first chunk and waits for it to go out.
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, DATABASE_URL: db.url },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const progress = async () =>
      (await db.query(`SELECT id::text, rows_done::int FROM pgbridge.backfill WHERE where_clause = 'id <= 2500' ORDER BY id DESC LIMIT 1`))
        .rows[0];
    await waitFor(async () => (await progress())?.rows_done > 0, 30_000, 'the first chunk');
    child.kill('SIGKILL');
    await exited;
    const { id, rows_done: committed } = await progress();
    expect(committed).toBeLessThan(2500);
    const interrupted = await pgbridge('backfill', 'status');
    expect(interrupted.stdout).toMatch(new RegExp(`^${id} +public\\.users#signup +interrupted +${committed}/\\d+ +- +id <= 2500 `, 'm'));

    listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, config: { watches: WATCHES as never } });
    const resumed = await pgbridge(...args);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^backfill ${id} of public\\.users#signup: continuing after ${committed} rows`));
    expect(resumed.stdout).toMatch(/done: 2500 rows sent as read events\n$/);
    const messages = await receiveMessages(aws, queue, { count: 2500, timeoutMs: 60_000, settleMs: 500 });
    expect(messages).toHaveLength(2500);
    expect(new Set(messages.map((message) => message.event.key.id)).size).toBe(2500);
    expect(new Set(messages.map((message) => message.event.backfill))).toEqual(new Set([id]));

    const again = await pgbridge(...args, '--restart');
    expect(again.code, again.stderr).toBe(0);
    const restartedId = /^backfill (\d+) of public\.users#signup: starting/.exec(again.stdout)?.[1];
    expect(Number(restartedId)).toBeGreaterThan(Number(id));
    expect(await receiveMessages(aws, queue, { count: 2500, timeoutMs: 60_000, settleMs: 500 })).toHaveLength(2500);

    const status = await pgbridge('backfill', 'status');
    expect(status.stdout.split('\n')[0]).toMatch(/^id +watch +state +rows +target +where +started +updated$/);
    expect(status.stdout).toMatch(new RegExp(`^${id} +public\\.users#signup +done +2500/\\d+ +- +id <= 2500 `, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^${restartedId} +public\\.users#signup +done +2500/\\d+ `, 'm'));
  }, 240_000);
});
