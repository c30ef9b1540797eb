import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { install, installScript } from '../../lib/capture/installer.ts';
import { parseConfig, type PgBridgeConfig } from '../../lib/config/watch-config.ts';
import { receiveMessages, startTestAws, type ReceivedMessage, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener } from '../support/test-listener.ts';

let db: TestDatabase;
let aws: TestAws;
let client: pg.Client;
let listener: Listener | undefined;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  client = new pg.Client(db.url);
  await client.connect();
});

beforeEach(async () => {
  await client.query(`
    DROP SCHEMA IF EXISTS pgbridge CASCADE;
    DROP TABLE IF EXISTS orders, ledger, ledger_lines, accounts, no_key, hot CASCADE;
    CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, total numeric NOT NULL, note text);
    CREATE TABLE ledger (id int PRIMARY KEY, amount int);
    CREATE TABLE ledger_lines (id int PRIMARY KEY, ledger_id int);
    CREATE TABLE accounts (region text, id int, n int, PRIMARY KEY (region, id));
    CREATE TABLE no_key (a int, b text);
    CREATE TABLE hot (id int PRIMARY KEY, n int NOT NULL, note text);
  `);
});

afterEach(async () => {
  await listener?.stop();
  listener = undefined;
});

afterAll(async () => {
  await client?.end();
  await Promise.all([db?.stop(), aws?.stop()]);
});

/** A topic (FIFO when the name ends in .fifo) with one queue, and a listener installing `config`. */
async function bridge(config: PgBridgeConfig, topic = 'options') {
  const topicArn = await aws.resources.createTopic(aws.name(topic));
  const queue = await aws.resources.subscribeQueue(topicArn, aws.name(topic.endsWith('.fifo') ? 'all.fifo' : 'all'));
  listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, config });
  return { topicArn, queueUrl: queue.url };
}

const byId = (messages: ReceivedMessage[]) => [...messages].sort((a, b) => (BigInt(a.event.id) < BigInt(b.event.id) ? -1 : 1));

/** Triggers on the application's tables, to show that a refused install changed nothing. */
async function triggers(): Promise<string[]> {
  const { rows } = await client.query(`
    SELECT c.relname || ':' || t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname <> 'pgbridge' ORDER BY 1`);
  return rows.map((row) => row.name);
}

describe('when: a row filter at the source', () => {
  it('only changes that satisfy the condition become events; an update moving a row into it is sent, one moving out is not', async () => {
    const { queueUrl } = await bridge({
      watches: [
        { table: 'orders', actions: ['insert', 'update'], when: "NEW.status = 'paid' AND NEW.total > 100" },
        { table: 'orders', actions: ['delete'], when: "OLD.status = 'paid'", label: 'paid_deleted' },
      ],
    });
    await db.query(`INSERT INTO orders VALUES (1, 'new', 500), (2, 'paid', 50), (3, 'paid', 150)`);
    await db.query(`UPDATE orders SET status = 'paid' WHERE id = 1`); // moves in: sent
    await db.query(`UPDATE orders SET total = 10 WHERE id = 3`); // moves out: not sent
    await db.query(`UPDATE orders SET note = 'x' WHERE id = 2`); // stays out: not sent
    await db.query(`DELETE FROM orders WHERE id IN (2, 3)`); // both paid: sent by the delete watch
    await db.query(`UPDATE orders SET status = 'new' WHERE id = 1`);
    await db.query(`DELETE FROM orders WHERE id = 1`); // no longer paid: not sent

    const messages = byId(await receiveMessages(aws, queueUrl, { count: 4, settleMs: 1000 }));
    expect(messages.map((message) => [message.attributes.action, message.attributes.label ?? null, message.event.key.id])).toEqual([
      ['insert', null, 3],
      ['update', null, 1],
      ['delete', 'paid_deleted', 2],
      ['delete', 'paid_deleted', 3],
    ]);
    expect(messages[1]!.event).toMatchObject({
      action: 'update',
      row: { id: 1, status: 'paid', total: 500, note: null },
      old: { id: 1, status: 'new', total: 500, note: null },
      changed: ['status'],
    });
    expect(messages[3]!.event).toMatchObject({ action: 'delete', row: { id: 3, status: 'paid', total: 10 } });
  });

  it('combines with columns and payload: an update is sent when a watched column changed and the condition holds', async () => {
    const { queueUrl } = await bridge({
      watches: [
        {
          table: 'orders',
          actions: ['update'],
          columns: ['status'],
          payload: ['id', 'status'],
          when: 'NEW.total > 100',
          label: 'big_status',
        },
      ],
    });
    await db.query(`INSERT INTO orders VALUES (1, 'new', 500), (2, 'new', 5)`);
    await db.query(`UPDATE orders SET total = total + 1`); // no watched column changed
    await db.query(`UPDATE orders SET status = 'shipped'`); // only order 1 is big
    const messages = await receiveMessages(aws, queueUrl, { count: 1, settleMs: 1000 });
    expect(messages).toHaveLength(1);
    expect(messages[0]!.event).toMatchObject({
      label: 'big_status',
      key: { id: 1 },
      row: { id: 1, status: 'shipped' },
      old: { id: 1, status: 'new' },
      changed: ['status'],
    });
    expect(Object.keys(messages[0]!.event.row)).toEqual(['id', 'status']);
  });

  it.each([
    [{ when: "NEW.status = 'paid' AND" }, 'watch "public.orders": when: syntax error at or near ")"'],
    [{ when: "NEW.stauts = 'paid'" }, 'watch "public.orders": when: column new.stauts does not exist'],
    [
      { actions: ['insert' as const], when: "OLD.status = 'paid'" },
      'watch "public.orders": when: INSERT trigger\'s WHEN condition cannot reference OLD values (an insert has NEW',
    ],
    [{ when: "NEW.status = 'paid'" }, 'watch "public.orders": when: DELETE trigger\'s WHEN condition cannot reference NEW values'],
    [
      { actions: ['insert' as const], when: 'NEW.id IN (SELECT id FROM ledger)' },
      'watch "public.orders": when: cannot use subquery in trigger WHEN condition',
    ],
    [
      { actions: ['insert' as const], when: 'NEW.total > random()' },
      'watch "public.orders": when: random() is a volatile function; a condition may call only immutable or stable ones',
    ],
    [
      { actions: ['update' as const], when: 'NEW.total > 0 AND clock_timestamp() IS NOT NULL' },
      'watch "public.orders": when: clock_timestamp() is a volatile function',
    ],
  ])(
    'a condition Postgres refuses (%j) fails the install with its message and the watch name, and installs nothing',
    async (options, message) => {
      await install(client, parseConfig({ watches: [{ table: 'ledger' }] }));
      const before = await triggers();
      await expect(install(client, parseConfig({ watches: [{ table: 'ledger' }, { table: 'orders', ...options }] }))).rejects.toThrow(
        message,
      );
      expect(await triggers()).toEqual(before);
    },
  );

  it('stable functions and operators are allowed, and a column the condition names cannot be dropped', async () => {
    await install(
      client,
      parseConfig({ watches: [{ table: 'orders', actions: ['insert'], when: "lower(NEW.status) = 'paid' AND NEW.note IS NULL" }] }),
    );
    await client.query(`INSERT INTO orders VALUES (1, 'PAID', 1, NULL), (2, 'PAID', 1, 'gift'), (3, 'new', 1, NULL)`);
    const { rows } = await client.query(`SELECT key FROM pgbridge.outbox ORDER BY id`);
    expect(rows).toEqual([{ key: { id: 1 } }]);
    await expect(client.query(`ALTER TABLE orders DROP COLUMN note`)).rejects.toThrow(
      /cannot drop column note of table orders because other objects depend on it/,
    );
  });

  it('`pgbridge sql` installs the same condition, quotes included', async () => {
    await client.query(
      installScript(parseConfig({ watches: [{ table: 'orders', actions: ['insert'], when: "NEW.note = 'it''s; a -- note'" }] })),
    );
    await client.query(`INSERT INTO orders VALUES (1, 'new', 1, 'it''s; a -- note'), (2, 'new', 1, 'other')`);
    const { rows } = await client.query(`SELECT key FROM pgbridge.outbox ORDER BY id`);
    expect(rows).toEqual([{ key: { id: 1 } }]);
  });
});

describe('truncate', () => {
  it('a TRUNCATE of a watched table is one event with the table and no row, in id order with its row events', async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'ledger', actions: ['insert', 'truncate'] }, { table: 'orders' }] });
    await db.query(`INSERT INTO ledger VALUES (1, 10), (2, 20)`);
    await db.query(`INSERT INTO orders VALUES (1, 'new', 1)`);
    await db.query(`TRUNCATE ledger`);
    await db.query(`TRUNCATE orders`); // not a watched action: nothing
    await db.query(`INSERT INTO ledger VALUES (1, 30)`);

    const messages = byId(await receiveMessages(aws, queueUrl, { count: 5, settleMs: 1000 }));
    expect(messages.map((message) => `${message.event.table}:${message.event.action}`)).toEqual([
      'ledger:insert',
      'ledger:insert',
      'orders:insert',
      'ledger:truncate',
      'ledger:insert',
    ]);
    const truncate = messages[3]!;
    expect(truncate.attributes).toEqual({ table: 'ledger', schema: 'public', action: 'truncate' });
    expect(truncate.event).toEqual({
      id: expect.stringMatching(/^\d+$/),
      schema: 'public',
      table: 'ledger',
      action: 'truncate',
      label: null,
      key: null,
      row: null,
      old: null,
      changed: null,
      txid: expect.stringMatching(/^\d+$/),
      at: expect.any(String),
    });
    expect(messages[4]!.event.txid).not.toBe(truncate.event.txid);
  });

  it('TRUNCATE of several watched tables at once sends one event per table, in one transaction; a filter on action truncate gets only those', async () => {
    const { topicArn } = await bridge({
      watches: [
        { table: 'ledger', actions: ['insert', 'truncate'] },
        { table: 'ledger_lines', actions: ['insert', 'truncate'] },
      ],
    });
    const truncates = await aws.resources.subscribeQueue(topicArn, aws.name('truncates'), { action: ['truncate'] });
    await db.query(`INSERT INTO ledger VALUES (1, 10); INSERT INTO ledger_lines VALUES (1, 1)`);
    await db.query(`TRUNCATE ledger, ledger_lines`);
    const messages = await receiveMessages(aws, truncates.url, { count: 2, settleMs: 1000 });
    expect(messages.map((message) => message.event.table).sort()).toEqual(['ledger', 'ledger_lines']);
    expect(messages[0]!.event.txid).toBe(messages[1]!.event.txid);
  });

  it('on FIFO a truncate has the message group of its table, apart from its rows', async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'ledger', actions: ['insert', 'truncate'] }] }, 'truncate.fifo');
    await db.query(`INSERT INTO ledger VALUES (1, 10)`);
    await db.query(`TRUNCATE ledger`);
    const messages = byId(await receiveMessages(aws, queueUrl, { count: 2, settleMs: 500 }));
    expect(messages.map((message) => [message.event.action, message.groupId])).toEqual([
      ['insert', 'public.ledger:1'],
      ['truncate', 'public.ledger:'],
    ]);
  });
});

describe('primary-key changes', () => {
  it("on FIFO an UPDATE of the key is a delete in the old key's group and an insert in the new one, linked, each group in commit order", async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'accounts' }] }, 'keys.fifo');
    await db.query(`INSERT INTO accounts VALUES ('eu', 1, 0)`);
    await db.query(`UPDATE accounts SET n = 1 WHERE id = 1`);
    await db.query(`UPDATE accounts SET id = 2, n = 2 WHERE id = 1`);
    await db.query(`UPDATE accounts SET n = 3 WHERE id = 2`);
    await db.query(`INSERT INTO accounts VALUES ('eu', 1, 4)`);

    const messages = byId(await receiveMessages(aws, queueUrl, { count: 6, settleMs: 1000 }));
    expect(messages).toHaveLength(6);
    const groups = new Map<string, string[]>();
    for (const message of messages)
      groups.set(message.groupId!, [...(groups.get(message.groupId!) ?? []), `${message.event.action}:${message.event.row.n}`]);
    expect(Object.fromEntries(groups)).toEqual({
      'public.accounts:eu,1': ['insert:0', 'update:1', 'delete:1', 'insert:4'],
      'public.accounts:eu,2': ['insert:2', 'update:3'],
    });

    const [deleted, inserted] = [messages[2]!, messages[3]!];
    const link = { old: { region: 'eu', id: 1 }, new: { region: 'eu', id: 2 } };
    expect(deleted.event).toMatchObject({
      action: 'delete',
      key: { region: 'eu', id: 1 },
      row: { region: 'eu', id: 1, n: 1 },
      old: null,
      key_change: link,
    });
    expect(inserted.event).toMatchObject({
      action: 'insert',
      key: { region: 'eu', id: 2 },
      row: { region: 'eu', id: 2, n: 2 },
      old: null,
      key_change: link,
    });
    expect(deleted.attributes.action).toBe('delete');
    expect(inserted.attributes.action).toBe('insert');
    expect(inserted.event.txid).toBe(deleted.event.txid);
    expect(BigInt(inserted.event.id) - BigInt(deleted.event.id)).toBe(1n);
    for (const message of messages.filter((message) => message !== deleted && message !== inserted)) {
      expect(message.event).not.toHaveProperty('key_change');
    }
  });

  it('an update-only watch sends a key change as the same delete and insert; a table without a key keeps sending updates', async () => {
    const { queueUrl } = await bridge({
      watches: [
        { table: 'accounts', actions: ['update'] },
        { table: 'no_key', actions: ['update'] },
      ],
    });
    await db.query(`INSERT INTO accounts VALUES ('eu', 1, 0); INSERT INTO no_key VALUES (1, 'a')`);
    await db.query(`UPDATE accounts SET region = 'us'`);
    await db.query(`UPDATE no_key SET a = 2`);
    const messages = byId(await receiveMessages(aws, queueUrl, { count: 3, settleMs: 1000 }));
    expect(messages.map((message) => [message.event.table, message.event.action, message.event.key])).toEqual([
      ['accounts', 'delete', { region: 'eu', id: 1 }],
      ['accounts', 'insert', { region: 'us', id: 1 }],
      ['no_key', 'update', null],
    ]);
    expect(messages[2]!.event).toMatchObject({ row: { a: 2, b: 'a' }, old: { a: 1, b: 'a' }, changed: ['a'] });
  });
});

/**
 * The messages of one row, in id order, must tell its whole story: each update's `old` is the
 * previous message's `row`, and the `coalesced` counts add up to the updates made.
 */
function expectUnbrokenHistory(messages: ReceivedMessage[], updates: number) {
  let represented = 0;
  let previousRow: unknown;
  for (const { event } of messages) {
    if (event.action === 'update') {
      expect(event.old).toEqual(previousRow);
      represented += event.coalesced ?? 1;
    }
    previousRow = event.action === 'delete' ? null : event.row;
  }
  expect(represented).toBe(updates);
}

describe('coalesce', () => {
  it('updates of a hot row within the window arrive as one event: newest row, first old, changed united, a count', async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'hot', coalesce: '1s' }] });
    await db.query(`INSERT INTO hot SELECT g, 0 FROM generate_series(1, 10) AS g`);
    const rounds = 300;
    const started = Date.now();
    for (let round = 1; round <= rounds; round++) await db.query(`UPDATE hot SET n = $1`, [round]);
    await db.query(`UPDATE hot SET note = 'last' WHERE id = 1`);
    const writingSeconds = (Date.now() - started) / 1000;

    const messages = byId(
      await receiveMessages(aws, queueUrl, {
        count: 10,
        timeoutMs: 20_000,
        settleMs: 2500,
        distinct: (message) =>
          message.event.row?.n === rounds && (message.event.key.id !== 1 || message.event.row.note === 'last')
            ? message.event.key.id
            : undefined,
      }),
    );
    const updates = messages.filter((message) => message.event.action === 'update');
    // One message per row per window (plus one for a window cut by the listener taking the event),
    // instead of one per update.
    expect(updates.length).toBeLessThanOrEqual(10 * (Math.ceil(writingSeconds) + 2));
    for (let id = 1; id <= 10; id++) {
      const history = messages.filter((message) => message.event.key.id === id);
      expect(history[0]!.event.action).toBe('insert');
      expectUnbrokenHistory(history, id === 1 ? rounds + 1 : rounds);
    }
    const merged = updates.find((message) => message.event.coalesced)!;
    expect(merged.event.coalesced).toBeGreaterThan(1);
    expect(merged.event.changed).toEqual(['n']);
    const lastOfFirst = messages.filter((message) => message.event.key.id === 1).at(-1)!.event;
    expect(lastOfFirst.row).toEqual({ id: 1, n: rounds, note: 'last' });
    if (lastOfFirst.coalesced) expect(lastOfFirst.changed).toEqual(['n', 'note']);
    console.log(
      `coalesce 1s: ${updates.length} update messages for ${rounds * 10 + 1} updates of 10 rows written in ${writingSeconds.toFixed(1)} s`,
    );
  });

  it("on FIFO a row's inserts and deletes are never merged away and keep their place among its merged updates", async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'hot', coalesce: '500ms' }] }, 'coalesce.fifo');
    await db.query(`INSERT INTO hot SELECT g, 0 FROM generate_series(1, 5) AS g`);
    for (let round = 1; round <= 60; round++) {
      await db.query(`UPDATE hot SET n = $1`, [round]);
      if (round % 20 === 0) {
        await db.query(`DELETE FROM hot WHERE id = 3`);
        await db.query(`INSERT INTO hot VALUES (3, $1)`, [round]);
      }
    }
    const messages = byId(
      await receiveMessages(aws, queueUrl, {
        count: 5,
        timeoutMs: 20_000,
        settleMs: 1500,
        distinct: (message) => (message.event.row?.n === 60 ? message.event.key.id : undefined),
      }),
    );
    const groups = new Map<string, ReceivedMessage[]>();
    for (const message of messages) groups.set(message.groupId!, [...(groups.get(message.groupId!) ?? []), message]);
    expect([...groups.keys()].sort()).toEqual([1, 2, 3, 4, 5].map((id) => `public.hot:${id}`));
    for (const [group, history] of groups) {
      // Arrival order within the group is commit order.
      expect(history.map((message) => message.event.id)).toEqual(byId(history).map((message) => message.event.id));
      if (group !== 'public.hot:3') {
        expectUnbrokenHistory(history, 60);
        continue;
      }
      const actions = history
        .map((message) => message.event.action)
        .filter((action, i, all) => action !== 'update' || all[i - 1] !== 'update');
      expect(actions).toEqual(['insert', 'update', 'delete', 'insert', 'update', 'delete', 'insert', 'update', 'delete', 'insert']);
      let incarnation: ReceivedMessage[] = [];
      for (const message of history) {
        if (message.event.action === 'delete') {
          expectUnbrokenHistory(incarnation, 20);
          expect(message.event.row).toEqual(incarnation.at(-1)!.event.row);
          incarnation = [];
        } else incarnation.push(message);
      }
    }
  });

  it.each([
    [
      { table: 'no_key', coalesce: '1s' },
      'watch "public.no_key": coalesce needs a primary key to tell rows apart, and public.no_key has none',
    ],
  ])('a watch that cannot coalesce (%j) fails the install, naming why', async (watch, message) => {
    await expect(install(client, parseConfig({ watches: [watch] }))).rejects.toThrow(message);
    expect(await triggers()).toEqual([]);
  });

  it("a primary-key change closes the row's window: the waiting update, then the delete and the insert, then a new window", async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'hot', coalesce: '1s' }] }, 'rekey.fifo');
    await db.query(`INSERT INTO hot VALUES (1, 0)`);
    await db.query(`UPDATE hot SET n = 1`);
    await db.query(`UPDATE hot SET n = 2`);
    await db.query(`UPDATE hot SET id = 2`);
    await db.query(`UPDATE hot SET n = 3`);
    await db.query(`UPDATE hot SET n = 4`);
    const messages = byId(await receiveMessages(aws, queueUrl, { count: 5, settleMs: 1000 }));
    expect(messages.map((message) => [message.groupId, message.event.action, message.event.row.n, message.event.coalesced ?? 1])).toEqual([
      ['public.hot:1', 'insert', 0, 1],
      ['public.hot:1', 'update', 2, 2],
      ['public.hot:1', 'delete', 2, 1],
      ['public.hot:2', 'insert', 2, 1],
      ['public.hot:2', 'update', 4, 2],
    ]);
    expect(messages[4]!.event.old).toEqual({ id: 2, n: 2, note: null });
  });

  it('a TRUNCATE ends every window of the watch: waiting updates come before the truncate', async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'hot', actions: ['insert', 'update', 'truncate'], coalesce: '5m' }] });
    await db.query(`INSERT INTO hot VALUES (1, 0), (2, 0)`);
    await db.query(`UPDATE hot SET n = n + 1`);
    await db.query(`UPDATE hot SET n = n + 1`);
    await db.query(`TRUNCATE hot`);
    const messages = byId(await receiveMessages(aws, queueUrl, { count: 5, settleMs: 500 }));
    expect(messages.map((message) => [message.event.action, message.event.key?.id ?? null, message.event.coalesced ?? 1])).toEqual([
      ['insert', 1, 1],
      ['insert', 2, 1],
      ['update', 1, 2],
      ['update', 2, 2],
      ['truncate', null, 1],
    ]);
  });

  it('the listener removes what it kept for merging once the events are published', async () => {
    const { queueUrl } = await bridge({ watches: [{ table: 'hot', coalesce: '1s' }] });
    await db.query(`INSERT INTO hot VALUES (1, 0)`);
    await db.query(`UPDATE hot SET n = 1`);
    await db.query(`UPDATE hot SET n = 2`);
    const messages = byId(await receiveMessages(aws, queueUrl, { count: 2, settleMs: 500 }));
    expect(messages.map((message) => [message.event.action, message.event.row.n, message.event.coalesced ?? 1])).toEqual([
      ['insert', 0, 1],
      ['update', 2, 2],
    ]);
    expect((await db.query(`SELECT count(*)::int AS n FROM pgbridge.coalescing`)).rows[0].n).toBe(0);
  });
});

describe('upgrading an existing install', () => {
  it('an outbox from before key_change gains the column in place, its waiting events are delivered, and older watches are re-created', async () => {
    await install(client, parseConfig({ watches: [{ table: 'accounts' }] }));
    // What an install of the previous release left: no key_change column, watches without a generation.
    await client.query(`
      ALTER TABLE pgbridge.outbox DROP COLUMN key_change;
      ALTER TABLE pgbridge.parked DROP COLUMN key_change;
      UPDATE pgbridge.watch SET definition = definition - 'generation';
      INSERT INTO accounts VALUES ('eu', 1, 0);`);
    const { queueUrl } = await bridge({ watches: [{ table: 'accounts' }] });
    await db.query(`UPDATE accounts SET id = 2`);
    const messages = byId(await receiveMessages(aws, queueUrl, { count: 3, settleMs: 500 }));
    expect(
      messages.map((message) => `${message.event.action}:${message.event.key.id}:${message.event.key_change ? 'linked' : '-'}`),
    ).toEqual(['insert:1:-', 'delete:1:linked', 'insert:2:linked']);
  });
});
