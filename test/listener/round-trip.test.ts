import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { startTestAws, receiveMessages, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener } from '../support/test-listener.ts';

let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
let listener: Listener;

const ODD_SCHEMA = 'My Schema';
const ODD_TABLE = 'Odd "Name" ; drop table users; --';

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('round-trip'));
  await db.query(`
    CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, plan text NOT NULL, last_login timestamptz);
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric(12,2), card_token text);
    CREATE SCHEMA "My Schema";
    CREATE TABLE "My Schema"."Odd ""Name"" ; drop table users; --" ("Weird Col" text, "ID" int PRIMARY KEY);
    CREATE TABLE types (
      id serial PRIMARY KEY, big bigint, exact numeric, doc jsonb, tags text[], matrix int[][], raw bytea,
      seen timestamptz, nothing text, flag boolean, uid uuid, words text, small real, plain json
    );
    CREATE TABLE big_rows (id int PRIMARY KEY, blob text);
    CREATE TABLE no_key (a int, b text);
  `);
  listener = await startTestListener({
    databaseUrl: db.url,
    endpoint: aws.endpoint,
    topicArn,
    config: {
      watches: [
        { table: 'users' },
        { table: 'users', actions: ['update'], columns: ['plan'], payload: ['id', 'email', 'plan'], label: 'plan_changed' },
        { table: 'shop.orders', exclude: ['card_token'] },
        { schema: ODD_SCHEMA, table: ODD_TABLE },
        { table: 'types' },
        { table: 'big_rows' },
        { table: 'no_key' },
      ],
    },
  });
});

afterAll(async () => {
  await listener?.stop();
  await Promise.all([db?.stop(), aws?.stop()]);
});

async function queueFor(filterPolicy: object) {
  return (await aws.resources.subscribeQueue(topicArn, aws.name('q'), filterPolicy)).url;
}

describe('round trip', () => {
  it('insert, update and delete arrive as messages with attributes and the documented body', async () => {
    const queue = await queueFor({ table: ['users'] });
    await db.query(`INSERT INTO users VALUES (1, 'ada@example.com', 'free', NULL)`);
    await db.query(`UPDATE users SET email = 'ada@lovelace.dev' WHERE id = 1`);
    await db.query(`DELETE FROM users WHERE id = 1`);
    const messages = await receiveMessages(aws, queue, { count: 3, settleMs: 300 });
    expect(messages).toHaveLength(3);
    messages.sort((a, b) => Number(a.event.id) - Number(b.event.id));
    const [inserted, updated, deleted] = messages.map((message) => message.event);

    expect(messages[0]!.attributes).toEqual({ table: 'users', schema: 'public', action: 'insert' });
    expect(inserted).toMatchObject({
      schema: 'public',
      table: 'users',
      action: 'insert',
      label: null,
      key: { id: 1 },
      row: { id: 1, email: 'ada@example.com', plan: 'free', last_login: null },
      old: null,
      changed: null,
    });
    expect(inserted.id).toMatch(/^\d+$/);
    expect(inserted.txid).toMatch(/^\d+$/);
    expect(new Date(inserted.at).getTime()).toBeGreaterThan(Date.now() - 60_000);

    expect(messages[1]!.attributes.action).toBe('update');
    expect(updated).toMatchObject({
      action: 'update',
      row: { email: 'ada@lovelace.dev' },
      old: { email: 'ada@example.com' },
      changed: ['email'],
    });
    expect(messages[2]!.attributes.action).toBe('delete');
    expect(deleted).toMatchObject({ action: 'delete', key: { id: 1 }, row: { id: 1, email: 'ada@lovelace.dev' } });
    expect(BigInt(deleted.id)).toBeGreaterThan(BigInt(updated.id));
    expect(BigInt(updated.id)).toBeGreaterThan(BigInt(inserted.id));
  });

  it('an UPDATE that changes nothing and a rolled-back transaction send nothing', async () => {
    const queue = await queueFor({ table: ['users'] });
    await db.query(`INSERT INTO users VALUES (2, 'bob@example.com', 'free', NULL)`);
    await db.query(`UPDATE users SET plan = plan, email = email WHERE id = 2`);
    await db.query(`BEGIN; INSERT INTO users VALUES (3, 'carl@example.com', 'free', NULL); ROLLBACK;`);
    await db.query(`UPDATE users SET plan = 'pro' WHERE id = 2`);
    const messages = await receiveMessages(aws, queue, { count: 3, timeoutMs: 3000, settleMs: 500 });
    const summary = messages.map((message) => `${message.event.action}:${message.event.key.id}:${message.attributes.label ?? ''}`);
    // The plan change also fires the labelled plan_changed watch on the same table.
    expect(summary.sort()).toEqual(['insert:2:', 'update:2:', 'update:2:plan_changed']);
  });

  it('columns, payload and label: the labelled watch fires only when plan changes, with only its columns', async () => {
    const queue = await queueFor({ label: ['plan_changed'] });
    await db.query(`INSERT INTO users VALUES (4, 'dee@example.com', 'free', NULL)`);
    await db.query(`UPDATE users SET last_login = now() WHERE id = 4`);
    await db.query(`UPDATE users SET email = 'dee@new.example' WHERE id = 4`);
    await db.query(`UPDATE users SET plan = 'team' WHERE id = 4`);
    const messages = await receiveMessages(aws, queue, { count: 1, settleMs: 500 });
    expect(messages).toHaveLength(1);
    expect(messages[0]!.attributes).toEqual({ table: 'users', schema: 'public', action: 'update', label: 'plan_changed' });
    expect(messages[0]!.event).toMatchObject({
      label: 'plan_changed',
      row: { id: 4, email: 'dee@new.example', plan: 'team' },
      old: { id: 4, email: 'dee@new.example', plan: 'free' },
      changed: ['plan'],
    });
    expect(Object.keys(messages[0]!.event.row)).toEqual(['id', 'email', 'plan']);
  });

  it('exclude: excluded columns are never sent, and changing only them sends nothing', async () => {
    const queue = await queueFor({ schema: ['shop'], table: ['orders'] });
    await db.query(`INSERT INTO shop.orders VALUES (1, 10.50, 'tok_secret_1')`);
    await db.query(`UPDATE shop.orders SET card_token = 'tok_secret_2' WHERE id = 1`);
    await db.query(`UPDATE shop.orders SET total = 12.00 WHERE id = 1`);
    const messages = await receiveMessages(aws, queue, { count: 2, settleMs: 500 });
    expect(messages.map((message) => message.event.action).sort()).toEqual(['insert', 'update']);
    for (const message of messages) {
      expect(message.body).not.toContain('tok_secret');
      expect(message.event.row).not.toHaveProperty('card_token');
    }
    const update = messages.find((message) => message.event.action === 'update')!;
    expect(update.body).toMatch(/"total": ?12\.00/);
    expect(update.event.changed).toEqual(['total']);
  });

  it('identifiers with capitals, spaces, quotes and semicolons are captured under their real names', async () => {
    const queue = await queueFor({ schema: [ODD_SCHEMA] });
    await db.query(`INSERT INTO "My Schema"."Odd ""Name"" ; drop table users; --" VALUES ('x', 7)`);
    const [message] = await receiveMessages(aws, queue, { count: 1 });
    expect(message!.attributes).toEqual({ table: ODD_TABLE, schema: ODD_SCHEMA, action: 'insert' });
    expect(message!.event).toMatchObject({ key: { ID: 7 }, row: { 'Weird Col': 'x', ID: 7 } });
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM users`);
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it('values arrive exactly as Postgres gives them: big integers, numerics, json, arrays, bytea, times, NULLs, unicode', async () => {
    const queue = await queueFor({ table: ['types'] });
    const words = 'naïve café 東京 😀 "quoted" back\\slash\nnew line\ttab \u0001 end';
    await db.query(
      `INSERT INTO types (big, exact, doc, tags, matrix, raw, seen, nothing, flag, uid, words, small, plain)
       VALUES (9007199254740993, 123456789012345678901234567890.123456789, '{"nested": {"n": 12345678901234567890}, "list": [1, "two"]}',
               ARRAY['a', 'b,c', NULL], '{{1,2},{3,4}}', '\\xdeadbeef', '2024-02-29 23:59:59.123456+00', NULL, true,
               'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', $1, 1.5, '{"keep":  "spacing"}')`,
      [words],
    );
    const [message] = await receiveMessages(aws, queue, { count: 1 });
    expect(message!.body).toContain('"big":9007199254740993');
    expect(message!.body).toContain('"exact":123456789012345678901234567890.123456789');
    expect(message!.body).toContain('12345678901234567890');
    const { rows } = await db.query(`SELECT row_to_json(t)::text AS json FROM types t`);
    expect(message!.event.row).toEqual(JSON.parse(rows[0].json));
    expect(message!.event.row).toMatchObject({
      tags: ['a', 'b,c', null],
      matrix: [
        [1, 2],
        [3, 4],
      ],
      raw: '\\xdeadbeef',
      seen: '2024-02-29T23:59:59.123456+00:00',
      nothing: null,
      flag: true,
      words,
      plain: { keep: 'spacing' },
    });
  });

  it('a row too large for SNS arrives truncated, with its key, instead of being dropped', async () => {
    const queue = await queueFor({ table: ['big_rows'] });
    await db.query(`INSERT INTO big_rows VALUES (1, repeat('x', 1024 * 1024))`);
    await db.query(`INSERT INTO big_rows VALUES (2, 'small')`);
    const messages = await receiveMessages(aws, queue, { count: 2 });
    const big = messages.find((message) => message.event.key.id === 1)!;
    const small = messages.find((message) => message.event.key.id === 2)!;
    expect(big.event).toMatchObject({ table: 'big_rows', action: 'insert', key: { id: 1 }, truncated: true });
    expect(big.event).not.toHaveProperty('row');
    expect(big.body.length).toBeLessThan(1000);
    expect(small.event.row).toEqual({ id: 2, blob: 'small' });
  });

  it('an event arrives even when no notification is sent: the listener also drains on a timer', async () => {
    const queue = await queueFor({ table: ['users'] });
    // Clearing the flag in the writer's own transaction makes its trigger skip the NOTIFY, as
    // if the wake-up were lost (the listener cannot set it again in between).
    await db.query(`BEGIN; UPDATE pgbridge.listener_state SET waiting = false;
                    INSERT INTO users VALUES (50, 'timer@example.com', 'free', NULL); COMMIT`);
    const [message] = await receiveMessages(aws, queue, { count: 1, timeoutMs: 5000 });
    expect(message!.event).toMatchObject({ action: 'insert', key: { id: 50 } });
  });

  it('a column added while running is sent by watches that send every column', async () => {
    const queue = await queueFor({ table: ['users'] });
    await db.query(`ALTER TABLE users ADD COLUMN nickname text`);
    await db.query(`INSERT INTO users (id, email, plan, nickname) VALUES (51, 'new@example.com', 'free', 'nick')`);
    const [message] = await receiveMessages(aws, queue, { count: 1 });
    expect(message!.event.row).toMatchObject({ id: 51, nickname: 'nick' });
    await db.query(`ALTER TABLE users DROP COLUMN nickname`);
  });

  it('invalid UTF-8 is refused by Postgres before any event exists, and the next row goes through', async () => {
    const queue = await queueFor({ table: ['users'] });
    await expect(db.query(`INSERT INTO users VALUES (52, E'\\xc3\\x28', 'free', NULL)`)).rejects.toThrow(
      /invalid byte sequence for encoding "UTF8"/,
    );
    await db.query(`INSERT INTO users VALUES (53, 'valid@example.com', 'free', NULL)`);
    const messages = await receiveMessages(aws, queue, { count: 1, settleMs: 300 });
    expect(messages.map((message) => message.event.key.id)).toEqual([53]);
  });

  it('a table without a primary key is captured with a null key', async () => {
    const queue = await queueFor({ table: ['no_key'] });
    await db.query(`INSERT INTO no_key VALUES (1, 'one')`);
    const [message] = await receiveMessages(aws, queue, { count: 1 });
    expect(message!.event).toMatchObject({ key: null, row: { a: 1, b: 'one' } });
  });
});
