import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { spawnListener, type ListenerProcess } from '../support/listener-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener, waitFor } from '../support/test-listener.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import pg from 'pg';

let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
const running: Array<Listener | ListenerProcess> = [];

const CONFIG = { watches: [{ table: 'items' }] };

beforeAll(async () => {
  // Restart tests need a server of our own, even when DATABASE_URL points elsewhere.
  [db, aws] = await Promise.all([startTestDatabase({ embedded: true }), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('durability'));
  await db.query(`CREATE TABLE items (id int PRIMARY KEY, note text)`);
  const client = new pg.Client(db.url);
  await client.connect();
  await install(client, parseConfig(CONFIG));
  await client.end();
});

afterEach(async () => {
  for (const listener of running.splice(0)) {
    if ('child' in listener) {
      listener.child.kill('SIGKILL');
      await listener.exited;
    } else {
      await listener.stop();
    }
  }
  await db.query(`TRUNCATE items; DELETE FROM pgbridge.outbox`);
});

afterAll(async () => {
  await Promise.all([db?.stop(), aws?.stop()]);
});

async function newQueue() {
  return (await aws.resources.subscribeQueue(topicArn, aws.name('items'))).url;
}

async function insertRows(from: number, count: number) {
  // Several rows per transaction and several transactions at once, as a real application would.
  const batches = [];
  for (let start = from; start < from + count; start += 50) {
    const end = Math.min(start + 50, from + count) - 1;
    batches.push(db.query(`INSERT INTO items SELECT g, 'row ' || g FROM generate_series($1::int, $2::int) AS g`, [start, end]));
  }
  await Promise.all(batches);
}

function processEnv(extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: db.url,
    PGBRIDGE_TOPIC_ARN: topicArn,
    AWS_ENDPOINT_URL: aws.endpoint,
    PGBRIDGE_CONFIG_JSON: JSON.stringify(CONFIG),
    ...extra,
  };
}

const byKey = (message: { event: any }) => message.event.key.id;

function distinctKeys(messages: { event: any }[]): Set<number> {
  return new Set(messages.map((message) => message.event.key.id));
}

describe('nothing is lost', () => {
  it('events written while the listener is down arrive after it starts', async () => {
    const queue = await newQueue();
    await insertRows(1, 1000);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pgbridge.outbox`);
    expect(rows[0].n).toBe(1000);

    running.push(await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn }));
    const messages = await receiveMessages(aws, queue, { count: 1000, timeoutMs: 30_000, settleMs: 300 });
    expect(distinctKeys(messages).size).toBe(1000);
    expect(messages).toHaveLength(1000);
    await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM pgbridge.outbox`)).rows[0].n === 0, 5000, 'empty outbox');
  });

  it('a listener killed with SIGKILL in the middle of draining loses nothing', async () => {
    const queue = await newQueue();
    await insertRows(1, 3000);
    const first = spawnListener(processEnv({ PGBRIDGE_BATCH_SIZE: '50', PGBRIDGE_MAX_IN_FLIGHT: '1' }));
    running.push(first);
    const before = await receiveMessages(aws, queue, { count: 200, timeoutMs: 30_000 });
    first.child.kill('SIGKILL');
    await first.exited;
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pgbridge.outbox`);
    expect(rows[0].n).toBeGreaterThan(0);

    running.push(spawnListener(processEnv()));
    // Events published just before the kill are sent again (at-least-once): only keys not
    // received before the kill count towards the rest.
    const seenBefore = distinctKeys(before);
    const newKey = (message: { event: any }) => (seenBefore.has(byKey(message)) ? undefined : byKey(message));
    const after = await receiveMessages(aws, queue, { count: 3000 - seenBefore.size, timeoutMs: 60_000, distinct: newKey });
    const all = distinctKeys([...before, ...after]);
    expect(all.size).toBe(3000);
  });

  it('with two listeners one drains and the other takes over within 5 s when it dies', async () => {
    const queue = await newQueue();
    const a = spawnListener(processEnv());
    const b = spawnListener(processEnv());
    running.push(a, b);
    await waitFor(
      async () => {
        const roles = [await a.role(), await b.role()].sort();
        return roles[0] === 'leader' && roles[1] === 'standby';
      },
      20_000,
      'one leader and one standby',
    );
    const [leader, standby] = (await a.role()) === 'leader' ? [a, b] : [b, a];

    await insertRows(1, 100);
    expect(distinctKeys(await receiveMessages(aws, queue, { count: 100 })).size).toBe(100);
    expect(standby.logs.some((line) => line.msg === 'role' && line.role === 'leader')).toBe(false);

    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    await insertRows(101, 100);
    await waitFor(async () => (await standby.role()) === 'leader', 5000, 'standby to take over');
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(5000);
    expect(distinctKeys(await receiveMessages(aws, queue, { count: 100 })).size).toBe(100);
  });

  it('the listener reconnects after Postgres restarts (fast and immediate) and loses nothing', async () => {
    const queue = await newQueue();
    const listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn });
    running.push(listener);
    const failures: Error[] = [];
    listener.on('failure', (error) => failures.push(error));
    await insertRows(1, 100);
    await db.server!.restart('fast');
    await insertRows(101, 100);
    await db.server!.restart('immediate');
    await insertRows(201, 100);
    await waitFor(() => listener.role === 'leader', 15_000, 'listener to reconnect');
    const messages = await receiveMessages(aws, queue, { count: 300, timeoutMs: 30_000, distinct: byKey });
    expect(distinctKeys(messages).size).toBe(300);
    expect(failures.length).toBeGreaterThanOrEqual(1);
  });

  it('while the sink is unreachable events wait in the outbox, and go out once it is back', async () => {
    const queue = await newQueue();
    const endpoint = new URL(aws.endpoint);
    const proxy = new TcpProxy(Number(endpoint.port), endpoint.hostname);
    await proxy.start();
    const listener = await startTestListener({ databaseUrl: db.url, endpoint: proxy.url, topicArn });
    running.push(listener);
    await proxy.cut();
    await insertRows(1, 500);
    await waitFor(
      async () => (await db.query(`SELECT count(*)::int AS n FROM pgbridge.outbox`)).rows[0].n === 500,
      5000,
      'events in the outbox',
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await db.query(`SELECT count(*)::int AS n FROM pgbridge.outbox`)).rows[0].n).toBe(500);
    expect((await receiveMessages(aws, queue, { count: 1, timeoutMs: 300 })).length).toBe(0);

    await proxy.restore();
    const messages = await receiveMessages(aws, queue, { count: 500, timeoutMs: 30_000 });
    expect(distinctKeys(messages).size).toBe(500);
    await proxy.cut();
  });

  it('on SIGTERM the listener finishes the batch in flight and exits 0', async () => {
    const queue = await newQueue();
    const listener = spawnListener(processEnv({ PGBRIDGE_BATCH_SIZE: '100' }));
    running.push(listener);
    await waitFor(async () => (await listener.role()) === 'leader', 20_000, 'leader');
    await insertRows(1, 2000);
    const first = await receiveMessages(aws, queue, { count: 1, timeoutMs: 10_000 });
    expect(first.length).toBeGreaterThan(0);
    listener.child.kill('SIGTERM');
    expect(await listener.exited).toBe(0);
    const rest = await receiveMessages(aws, queue, { count: 2000, timeoutMs: 2000, distinct: byKey });
    const { rows } = await db.query(`SELECT (key->>'id')::int AS id FROM pgbridge.outbox`);
    // Every row is either delivered or still waiting in the outbox for the next listener.
    const accounted = new Set([...distinctKeys([...first, ...rest]), ...rows.map((row) => row.id)]);
    expect(accounted.size).toBe(2000);
    expect(listener.logs.some((line) => line.msg === 'role' && line.role === 'stopped')).toBe(true);
  });
});
