import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { runCli } from '../support/cli-process.ts';
import { spawnListener, type ListenerProcess } from '../support/listener-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/test-listener.ts';

let db: TestDatabase;
let aws: TestAws;
let queueUrl: string;
const running: ListenerProcess[] = [];
const notifications: string[] = [];
let observer: pg.Client;

const CONFIG = { watches: [{ table: 'items' }] };
/** Far longer than the waits below: whatever arrives sooner was woken by a NOTIFY. */
const POLL_INTERVAL_MS = '120000';
/** How long a message may take, generous for a loaded machine and still far below the poll interval. */
const DELIVERY_MS = 20_000;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  await db.query(`CREATE TABLE items (id int PRIMARY KEY)`);
  const client = new pg.Client(db.url);
  await client.connect();
  await install(client, parseConfig(CONFIG));
  await client.end();
  // What a writer's NOTIFY reaches: a session listening on the channel the listener uses.
  observer = new pg.Client(db.url);
  await observer.connect();
  observer.on('notification', (message) => notifications.push(message.channel));
  await observer.query('LISTEN pgbridge');
});

beforeEach(async () => {
  queueUrl = (await aws.resources.createQueue(aws.name('stale-flag'))).url;
});

afterEach(async () => {
  for (const listener of running.splice(0)) {
    listener.child.kill('SIGKILL');
    await listener.exited;
  }
});

afterAll(async () => {
  await observer?.end();
  await Promise.all([db?.stop(), aws?.stop()]);
});

function startListener(): ListenerProcess {
  const listener = spawnListener({
    DATABASE_URL: db.url,
    PGBRIDGE_QUEUE_URL: queueUrl,
    AWS_ENDPOINT_URL: aws.endpoint,
    PGBRIDGE_CONFIG_JSON: JSON.stringify(CONFIG),
    PGBRIDGE_POLL_INTERVAL_MS: POLL_INTERVAL_MS,
  });
  running.push(listener);
  return listener;
}

async function waitingFlag(): Promise<boolean> {
  return (await db.query(`SELECT waiting FROM pgbridge.listener_state`)).rows[0].waiting;
}

async function listenerSessions(): Promise<number> {
  return (await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'pgbridge-listener %'`)).rows[0].n;
}

/** Writes in several transactions, then gives notifications time to arrive. */
async function writeRows(from: number, count: number): Promise<void> {
  for (let id = from; id < from + count; id++) await db.query(`INSERT INTO items VALUES ($1)`, [id]);
  await new Promise((resolve) => setTimeout(resolve, 500));
}

/** Its flag set, and its session holding the lock that makes the flag count. */
async function asleepWithFlag(listener: ListenerProcess): Promise<void> {
  await waitFor(
    async () => {
      if ((await listener.role()) !== 'leader') return false;
      const { rows } = await db.query(
        `SELECT s.waiting AND a.application_name = $1 AS asleep
       FROM pgbridge.listener_state AS s, pg_stat_activity AS a WHERE a.pid = pgbridge.advisory_lock_holder('pgbridge.waiting')`,
        [`pgbridge-listener ${listener.child.pid}@${hostname()}`],
      );
      return rows[0]?.asleep === true;
    },
    20_000,
    'the listener asleep with its waiting flag set',
  );
}

/** A listener SIGKILLed in its sleep, its session gone: the flag is left set with no lock behind it. */
async function listenerKilledAsleep(): Promise<void> {
  const listener = startListener();
  await asleepWithFlag(listener);
  listener.child.kill('SIGKILL');
  await listener.exited;
  await waitFor(async () => (await listenerSessions()) === 0, 10_000, 'Postgres to end the killed listener session');
  expect(await waitingFlag()).toBe(true);
}

describe('a listener that dies while idle', () => {
  it('leaves writers sending no NOTIFY, the first of them clears its flag; a new listener still wakes on the next write', async () => {
    const first = startListener();
    await asleepWithFlag(first);
    // While it lives, a write wakes it through a NOTIFY (so the observer below can see one).
    await writeRows(1, 1);
    expect(notifications.length).toBeGreaterThan(0);
    expect((await receiveMessages(aws, queueUrl, { count: 1, timeoutMs: DELIVERY_MS })).map((message) => message.event.key.id)).toEqual([
      1,
    ]);
    await asleepWithFlag(first);

    first.child.kill('SIGKILL');
    await first.exited;
    await waitFor(async () => (await listenerSessions()) === 0, 10_000, 'Postgres to end the killed listener session');
    expect(await waitingFlag()).toBe(true);

    notifications.length = 0;
    await writeRows(2, 5);
    expect(notifications).toEqual([]);
    expect((await db.query(`SELECT count(*)::int AS n FROM pgbridge.outbox`)).rows[0].n).toBe(5);
    // The first writer cleared it: the writers after it pay nothing for the dead listener.
    expect(await waitingFlag()).toBe(false);

    const second = startListener();
    // A listener process takes a while to start on a loaded machine; it drains what waits at once.
    expect((await receiveMessages(aws, queueUrl, { count: 5, timeoutMs: 60_000 })).map((message) => message.event.key.id).sort()).toEqual([
      2, 3, 4, 5, 6,
    ]);
    await asleepWithFlag(second);
    const wokenAt = Date.now();
    await writeRows(7, 1);
    expect((await receiveMessages(aws, queueUrl, { count: 1, timeoutMs: DELIVERY_MS })).map((message) => message.event.key.id)).toEqual([
      7,
    ]);
    expect(Date.now() - wokenAt).toBeLessThan(DELIVERY_MS);
  });

  it('status reports and clears a stale flag before any writer has', async () => {
    await listenerKilledAsleep();
    const status = await runCli(['status', '--json'], { DATABASE_URL: db.url, PGBRIDGE_CONFIG_JSON: JSON.stringify(CONFIG) });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).waitingFlag).toEqual({ state: 'stale', cleared: true });
    expect(await waitingFlag()).toBe(false);
  });

  it('the next listener clears a stale flag itself and logs it', async () => {
    await listenerKilledAsleep();

    const second = startListener();
    await waitFor(
      async () => second.logs.some((line) => line.staleWaitingFlag === true),
      20_000,
      'the new listener to report the stale flag',
    );
    notifications.length = 0;
    await asleepWithFlag(second);
    await writeRows(100, 1);
    expect(notifications.length).toBeGreaterThan(0);
    expect((await receiveMessages(aws, queueUrl, { count: 1, timeoutMs: DELIVERY_MS })).map((message) => message.event.key.id)).toEqual([
      100,
    ]);
  });
});
