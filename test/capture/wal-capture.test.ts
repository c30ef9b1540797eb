import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { ListenerMetrics } from '../../functions/listener/listener-metrics.ts';
import { statusReport } from '../../bin/cli/status-report.ts';
import { readBridgeStatus } from '../../lib/capture/bridge-status.ts';
import { install, installScript, uninstall } from '../../lib/capture/installer.ts';
import { statement } from '../../lib/capture/sql-files.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import pg from 'pg';
import { type ReceivedMessage, receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { captureLogger, capturedLogs, startTestListener, waitFor } from '../support/test-listener.ts';

// "capture": "wal" against a real server with wal_level = logical: the same writes watched by a
// trigger watch and by a WAL watch (told apart by label) must give the same events.
let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
let listener: Listener | undefined;
const run = promisify(execFile);

const LOGICAL = { wal_level: 'logical', max_replication_slots: '4', max_wal_senders: '4' };

const watches = [
  { table: 'types', label: 'trigger' },
  { table: 'types', label: 'wal', capture: 'wal' as const },
  { table: 'accounts', label: 'trigger', actions: ['update' as const], columns: ['plan'], payload: ['id', 'plan', 'email'] },
  {
    table: 'accounts',
    label: 'wal',
    capture: 'wal' as const,
    actions: ['update' as const],
    columns: ['plan'],
    payload: ['id', 'plan', 'email'],
  },
  { table: 'accounts', label: 'wal-exclude', capture: 'wal' as const, exclude: ['secret'] },
  { table: 'plain', capture: 'wal' as const, actions: ['insert' as const, 'update' as const, 'delete' as const, 'truncate' as const] },
];

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase({ settings: LOGICAL }), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('wal'));
  await db.query(`
    CREATE TABLE types (
      id bigint PRIMARY KEY, big bigint, exact numeric, doc jsonb, plain_json json, tags text[], raw bytea,
      seen timestamptz, nothing text, flag boolean, uid uuid, small real, long_text text,
      doubled bigint GENERATED ALWAYS AS (big * 2) STORED
    );
    CREATE TABLE accounts (id int PRIMARY KEY, email text, plan text, secret text);
    CREATE TABLE plain (id int PRIMARY KEY, note text);
  `);
  listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, config: { watches } });
});

afterAll(async () => {
  await listener?.stop();
  await Promise.all([db?.stop(), aws?.stop()]);
});

async function queueFor(filterPolicy: object) {
  return (await aws.resources.subscribeQueue(topicArn, aws.name('q'), filterPolicy)).url;
}

function byLabel(messages: ReceivedMessage[], label: string) {
  return messages
    .filter((message) => message.event.label === label)
    .sort((a, b) => Number(a.event.id) - Number(b.event.id))
    .map((message) => message.event);
}

/** What must be equal between the two captures: everything but the id and the time (trigger: transaction start; WAL: commit). */
function comparable(event: Record<string, unknown>) {
  const { id: _id, at: _at, label: _label, ...rest } = event;
  return rest;
}

describe('capture from the WAL', () => {
  it('sends the same events as a trigger watch: every type, update, key change, delete, truncate', async () => {
    const queue = await queueFor({ table: ['types'] });
    await db.query(`INSERT INTO types VALUES (1, 9007199254740993, 123456789012345678901234567890.123, '{"a": [1, 2.50, "x"]}',
      '{"keep":   "spacing"}', '{a,"b c",NULL}', '\\xdeadbeef', '2026-12-02 10:11:12.5+00', NULL, true,
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 1250) AS g))`);
    await db.query(`UPDATE types SET flag = false WHERE id = 1`); // long_text stays TOASTed and unchanged
    await db.query(`UPDATE types SET id = 2 WHERE id = 1`);
    await db.query(`UPDATE types SET nothing = NULL WHERE id = 2`); // changes nothing: no event
    await db.query(`DELETE FROM types WHERE id = 2`);
    const messages = await receiveMessages(aws, queue, { count: 10, settleMs: 500 });
    const trigger = byLabel(messages, 'trigger');
    const wal = byLabel(messages, 'wal');
    expect(trigger.map((event) => event.action)).toEqual(['insert', 'update', 'delete', 'insert', 'delete']);
    // Before PostgreSQL 18 the WAL has no generated columns: a WAL watch cannot send them.
    const generatedInWal = Number((await db.query(`SHOW server_version_num`)).rows[0].server_version_num) >= 180000;
    const withoutGenerated = (event: Record<string, unknown>) => {
      if (generatedInWal) return comparable(event);
      const { row, old, changed, ...rest } = comparable(event) as Record<string, any>;
      const strip = (image: Record<string, unknown> | null) =>
        image && Object.fromEntries(Object.entries(image).filter(([name]) => name !== 'doubled'));
      return { ...rest, row: strip(row), old: strip(old), changed: changed?.filter((name: string) => name !== 'doubled') ?? null };
    };
    expect(wal.map(comparable)).toEqual(trigger.map(withoutGenerated));
    if (!generatedInWal) expect(wal[0]!.row).not.toHaveProperty('doubled');
    expect(wal[1]!.changed).toEqual(['flag']);
    expect((wal[0]!.row as { long_text: string }).long_text).toHaveLength(40_000);
    expect((wal[1]!.row as { long_text: string }).long_text).toHaveLength(40_000);
    expect(wal[2]!.key_change).toEqual({ old: { id: 1 }, new: { id: 2 } });
    // Every digit: both bodies carry Postgres' own JSON.
    const walBodies = messages.filter((message) => message.event.label === 'wal').map((message) => message.body);
    expect(walBodies[0]).toContain('9007199254740993');
    expect(walBodies[0]).toContain('123456789012345678901234567890.123');
    expect(messages.find((message) => message.event.label === 'wal')!.attributes).toMatchObject({ table: 'types', label: 'wal' });
    const ids = wal.map((event) => BigInt(event.id as string));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(messages.map((message) => message.event.id)).size).toBe(messages.length);
  });

  it('applies columns, payload, exclude and actions as a trigger watch does', async () => {
    const queue = await queueFor({ table: ['accounts'] });
    await db.query(`INSERT INTO accounts VALUES (1, 'ada@example.com', 'free', 's3cret')`);
    await db.query(`UPDATE accounts SET email = 'ada@lovelace.dev' WHERE id = 1`); // not `plan`: only wal-exclude sends it
    await db.query(`UPDATE accounts SET plan = 'pro' WHERE id = 1`);
    const messages = await receiveMessages(aws, queue, { count: 5, settleMs: 500 });
    const trigger = byLabel(messages, 'trigger');
    const wal = byLabel(messages, 'wal');
    expect(trigger).toHaveLength(1);
    expect(wal.map(comparable)).toEqual(trigger.map(comparable));
    expect(wal[0]).toMatchObject({
      row: { id: 1, plan: 'pro', email: 'ada@lovelace.dev' },
      old: { id: 1, plan: 'free' },
      changed: ['plan'],
    });
    const excluded = byLabel(messages, 'wal-exclude');
    expect(excluded.map((event) => event.action)).toEqual(['insert', 'update', 'update']);
    for (const event of excluded) expect(Object.keys(event.row as object)).toEqual(['id', 'email', 'plan']);
  });

  it('sends nothing for a rolled-back transaction, and a truncate as one event', async () => {
    const queue = await queueFor({ table: ['plain'] });
    const client = await connected(db.url);
    await client.query('BEGIN');
    await client.query(`INSERT INTO plain VALUES (99, 'rolled back')`);
    await client.query('ROLLBACK');
    await client.end();
    await db.query(`INSERT INTO plain VALUES (1, 'kept')`);
    await db.query(`TRUNCATE plain`);
    const messages = await receiveMessages(aws, queue, { count: 2, settleMs: 700 });
    expect(messages.map((message) => [message.event.action, message.event.row])).toEqual([
      ['insert', { id: 1, note: 'kept' }],
      ['truncate', null],
    ]);
  });

  it('keeps every change while the listener is stopped and sends it after a restart', async () => {
    const queue = await queueFor({ table: ['plain'] });
    await listener!.stop();
    listener = undefined;
    await db.query(`INSERT INTO plain SELECT g, 'while stopped' FROM generate_series(1, 1000) AS g`);
    const slot = await db.query(`SELECT confirmed_flush_lsn < pg_current_wal_lsn() AS behind FROM pg_replication_slots`);
    expect(slot.rows[0].behind).toBe(true);
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      topicArn,
      config: { watches },
    });
    const messages = await receiveMessages(aws, queue, { count: 1000, distinct: (message) => message.event.key.id, timeoutMs: 30_000 });
    expect(new Set(messages.map((message) => message.event.key.id)).size).toBe(1000);
  });
});

describe('event ids of WAL events', () => {
  it('a round read again from the same slot position gets the ids it had, whether it is longer or shorter', async () => {
    const ids = async (count: number) =>
      (await db.query(statement('wal/round-ids'), ['0/10', count, 'no such slot'])).rows[0].ids as string[];
    const first = await ids(5);
    expect(new Set(first).size).toBe(5);
    const longer = await ids(8);
    expect(longer.slice(0, 5)).toEqual(first);
    expect(new Set(longer).size).toBe(8);
    expect(await ids(3)).toEqual(first.slice(0, 3));
    const { rows } = await db.query(`SELECT max(id) AS max FROM pgbridge.outbox`);
    expect(rows[0].max).toBeNull();
    await db.query(`DELETE FROM pgbridge.wal_round WHERE read_from = '0/10'`);
  });
});

describe('a least-privileged listener role', () => {
  it('drains WAL watches with the granted rights and the REPLICATION attribute, and says what is missing without it', async () => {
    await listener!.stop();
    listener = undefined;
    await db.query(`CREATE ROLE wal_listener LOGIN PASSWORD 'wal-listener-pw' NOSUPERUSER; SELECT pgbridge.grant_listener('wal_listener')`);
    const asListener = new URL(db.url);
    asListener.username = 'wal_listener';
    asListener.password = 'wal-listener-pw';
    const logged = capturedLogs.length;
    listener = await startTestListener({ databaseUrl: asListener.toString(), endpoint: aws.endpoint, topicArn });
    await db.query(`INSERT INTO plain VALUES (5001, 'for the listener role')`);
    const problem = () =>
      capturedLogs.slice(logged).find((line) => String(line.msg).startsWith('"capture": "wal" watches are not being read'));
    await waitFor(() => problem() !== undefined, 10_000, 'the listener to say it may not stream the slot');
    expect(problem().msg).toMatch(/may not stream the replication slot pgbridge_\d+ .*give it the REPLICATION attribute/);
    // The outbox drain is not held up by it: the listener stays the leader.
    expect(listener.role).toBe('leader');
    await listener.stop();

    await db.query(`ALTER ROLE wal_listener REPLICATION`);
    const queue = await queueFor({ table: ['plain'] });
    listener = await startTestListener({ databaseUrl: asListener.toString(), endpoint: aws.endpoint, topicArn });
    await db.query(`INSERT INTO plain VALUES (5002, 'for the listener role')`);
    const messages = await receiveMessages(aws, queue, { count: 2, distinct: (message) => message.event.key.id });
    expect(new Set(messages.map((message) => message.event.key.id))).toEqual(new Set([5001, 5002]));
  });

  it('converts and filters the changes of a table in another schema: install gives the role USAGE on it', async () => {
    await listener!.stop();
    listener = undefined;
    const asListener = new URL(db.url);
    asListener.username = 'wal_listener';
    asListener.password = 'wal-listener-pw';
    await db.query(`CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, n bigint)`);
    const admin = await connected(db.url);
    try {
      const withItems = [
        ...watches,
        { schema: 'app', table: 'items', capture: 'wal' as const, actions: ['insert' as const], when: 'NEW.n > 1' },
      ];
      await install(admin, parseConfig({ watches: withItems }));
      const usage = await admin.query(`SELECT has_schema_privilege('wal_listener', 'app', 'USAGE') AS granted`);
      expect(usage.rows[0].granted).toBe(true);
      const queue = await queueFor({ table: ['items'] });
      const logged = capturedLogs.length;
      listener = await startTestListener({ databaseUrl: asListener.toString(), endpoint: aws.endpoint, topicArn });
      await db.query(`INSERT INTO app.items VALUES (1, 1), (2, 9007199254740993)`);
      const messages = await receiveMessages(aws, queue, { count: 1, settleMs: 700 });
      expect(messages.map((message) => message.event.key)).toEqual([{ id: 2 }]);
      // Converted by Postgres as the listener's role (a number, every digit), not sent as text.
      expect(messages[0]!.body).toContain('"n":9007199254740993');
      expect(capturedLogs.slice(logged).filter((line) => line.level >= 50)).toEqual([]);
      await listener.stop();
      // What the CDK installer does when its listener login goes: revoke, then drop the role.
      await admin.query(`CREATE ROLE short_lived LOGIN; SELECT pgbridge.grant_listener('short_lived')`);
      expect((await admin.query(`SELECT has_schema_privilege('short_lived', 'app', 'USAGE') AS granted`)).rows[0].granted).toBe(true);
      await admin.query(`SELECT pgbridge.revoke_listener('short_lived'); DROP ROLE short_lived`);
      await install(admin, parseConfig({ watches }));
    } finally {
      await admin.end();
    }
    listener = await startTestListener({ databaseUrl: asListener.toString(), endpoint: aws.endpoint, topicArn });
  });
});

describe('installing "capture": "wal"', () => {
  it('puts the table into the publication with a FULL replica identity and creates the slot', async () => {
    const { rows } = await db.query(`
      SELECT c.relname, c.relreplident FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid ORDER BY c.relname`);
    expect(rows).toEqual([
      { relname: 'accounts', relreplident: 'f' },
      { relname: 'plain', relreplident: 'f' },
      { relname: 'types', relreplident: 'f' },
    ]);
    const slots = await db.query(`SELECT slot_name, plugin FROM pg_replication_slots`);
    expect(slots.rows).toEqual([{ slot_name: expect.stringMatching(/^pgbridge_\d+$/), plugin: 'pgoutput' }]);
  });

  it('pgbridge status shows WAL watches as installed and their slot, and a WAL watch whose table left the publication', async () => {
    const client = await connected(db.url);
    try {
      const status = (await readBridgeStatus(client, parseConfig({ watches })))!;
      expect(
        status.watches.filter((watch) => watch.label?.startsWith('wal') || watch.table === 'plain').map((watch) => watch.state),
      ).toEqual(['installed', 'installed', 'installed', 'installed']);
      expect(status.captureSlot).toMatchObject({ name: expect.stringMatching(/^pgbridge_\d+$/), exists: true, walStatus: 'reserved' });
      const metrics = await new ListenerMetrics('test').report(client, captureLogger());
      expect(metrics.walSlot).toEqual({ unconfirmedBytes: expect.any(Number), retainedBytes: expect.any(Number) });
      expect(metrics.walSlot!.retainedBytes).toBeGreaterThan(0);
      const line = capturedLogs.findLast((entry) => entry.msg === 'metrics');
      expect(line.WalSlotRetainedBytes).toBe(metrics.walSlot!.retainedBytes);
      expect(line._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: 'WalSlotRetainedBytes', Unit: 'Bytes' });
      expect(statusReport(status)).toMatch(
        /^wal slot {4}pgbridge_\d+: \d+\.\d MB of WAL not yet confirmed, \d+\.\d MB kept on disk \(reserved\)$/m,
      );
      await client.query(`ALTER PUBLICATION pgbridge_capture DROP TABLE plain`);
      const dropped = (await readBridgeStatus(client))!;
      expect(dropped.watches.find((watch) => watch.table === 'plain')).toMatchObject({
        state: 'trigger missing',
        missingTriggers: ['insert', 'update', 'delete', 'truncate'],
      });
      await install(client, parseConfig({ watches }));
      expect((await readBridgeStatus(client))!.watches.find((watch) => watch.table === 'plain')!.state).toBe('installed');
    } finally {
      await client.end();
    }
  });

  it('`pgbridge sql` applied as psql would installs a WAL watch, its publication and slot first', async () => {
    await db.query(`CREATE DATABASE script_install`);
    const target = new URL(db.url);
    target.pathname = '/script_install';
    const client = await connected(target.toString());
    try {
      await client.query(`CREATE TABLE plain (id int PRIMARY KEY, note text)`);
      // As psql runs it (autocommit): the statements before BEGIN one at a time, then the rest.
      const script = installScript(parseConfig({ watches: [{ table: 'plain', capture: 'wal' }] }));
      const begin = script.indexOf('\nBEGIN;\n');
      const [publicationFirst, slotFirst] = script.slice(0, begin).split('$publication$;\n');
      await client.query(`${publicationFirst}$publication$`);
      await client.query(slotFirst!);
      await client.query(script.slice(begin));
      const { rows } = await client.query(
        `SELECT s.slot_name FROM pg_replication_slots AS s JOIN pgbridge.wal_capture AS c ON c.slot = s.slot_name WHERE s.database = current_database()`,
      );
      expect(rows).toHaveLength(1);
      await uninstall(client, { force: true });
      expect(
        (await client.query(`SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = current_database()`)).rows[0].n,
      ).toBe(0);
    } finally {
      await client.end();
      await db.query(`DROP DATABASE script_install`);
    }
  });

  it('refuses "coalesce" with a WAL watch, naming the field', () => {
    expect(() => parseConfig({ watches: [{ table: 'plain', capture: 'wal', coalesce: '1s' }] })).toThrow(
      /watches\[0\] \(plain\)\.coalesce: "capture": "wal" cannot take "coalesce"/,
    );
  });

  it('removing the last WAL watch of a table gives it back its replica identity; removing all drops the slot', async () => {
    await listener!.stop();
    listener = undefined;
    const client = await connected(db.url);
    try {
      await install(client, parseConfig({ watches: [{ table: 'types', capture: 'wal' }] }));
      const identities = await client.query(
        `SELECT relname, relreplident FROM pg_class WHERE relname IN ('accounts', 'plain', 'types') ORDER BY relname`,
      );
      expect(identities.rows).toEqual([
        { relname: 'accounts', relreplident: 'd' },
        { relname: 'plain', relreplident: 'd' },
        { relname: 'types', relreplident: 'f' },
      ]);
      await install(client, parseConfig({ watches: [{ table: 'types' }] }));
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_replication_slots`)).rows[0].n).toBe(0);
      expect((await client.query(`SELECT relreplident FROM pg_class WHERE relname = 'types'`)).rows[0].relreplident).toBe('d');
      await install(client, parseConfig({ watches: [{ table: 'plain', capture: 'wal' }] }));
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_replication_slots`)).rows[0].n).toBe(1);
      await uninstall(client, { force: true });
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_replication_slots`)).rows[0].n).toBe(0);
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_publication`)).rows[0].n).toBe(0);
      expect((await client.query(`SELECT relreplident FROM pg_class WHERE relname = 'plain'`)).rows[0].relreplident).toBe('d');
    } finally {
      await client.end();
    }
  });

  it('uninstall refuses while a listener streams the slot or changes wait in it, and --force drops it all', async () => {
    await listener?.stop();
    listener = undefined;
    const client = await connected(db.url);
    try {
      await install(client, parseConfig({ watches: [{ table: 'plain', capture: 'wal' }] }));
      const streaming = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn });
      await waitFor(async () => (await db.query(`SELECT active FROM pg_replication_slots`)).rows[0]?.active === true, 10_000, 'the stream');
      await expect(uninstall(client)).rejects.toThrow(
        /a listener is streaming the replication slot pgbridge_\d+ .*stop the listeners first, or pass --force/,
      );
      await streaming.stop();
      await waitFor(async () => (await db.query(`SELECT active FROM pg_replication_slots`)).rows[0]?.active === false, 10_000, 'no stream');
      await db.query(`INSERT INTO plain VALUES (7001, 'never published')`);
      await expect(uninstall(client)).rejects.toThrow(
        /would drop the replication slot pgbridge_\d+ with changes .* no listener has published yet/,
      );
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_replication_slots`)).rows[0].n).toBe(1);

      const again = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn });
      await waitFor(async () => (await db.query(`SELECT active FROM pg_replication_slots`)).rows[0]?.active === true, 10_000, 'the stream');
      await uninstall(client, { force: true });
      await again.stop();
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_replication_slots`)).rows[0].n).toBe(0);
      expect((await client.query(`SELECT to_regclass('pgbridge.watch') AS t`)).rows[0].t).toBeNull();
    } finally {
      await client.end();
    }
  });

  it('a trigger watch turned into a WAL watch while writers write loses no change', async () => {
    await listener?.stop();
    listener = undefined;
    const client = await connected(db.url);
    try {
      // From no slot at all: the switch creates it.
      await uninstall(client, { force: true });
      await install(client, parseConfig({ watches: [{ table: 'plain' }] }));
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_replication_slots`)).rows[0].n).toBe(0);
      const queue = await queueFor({ table: ['plain'] });
      const switching = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn });
      let writing = true;
      let next = 8000;
      const written: number[] = [];
      const writer = (async () => {
        const own = await connected(db.url);
        while (writing) {
          const key = next++;
          await own.query(`INSERT INTO plain VALUES ($1, 'around the switch')`, [key]);
          written.push(key);
        }
        await own.end();
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await install(client, parseConfig({ watches: [{ table: 'plain', capture: 'wal' }] }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      writing = false;
      await writer;
      // The running listener finds the WAL watch at its next look at the watches: a new one now.
      await switching.stop();
      const reading = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn });
      const wanted = new Set(written);
      const messages = await receiveMessages(aws, queue, {
        count: written.length,
        timeoutMs: 20_000,
        distinct: (message) => (wanted.has(message.event.key?.id) ? message.event.key.id : undefined),
      });
      expect(new Set(messages.map((message) => message.event.key?.id).filter((key) => wanted.has(key)))).toEqual(wanted);
      await reading.stop();
      await uninstall(client, { force: true });
    } finally {
      await client.end();
    }
  });

  it('fails clearly on a server without wal_level = logical, and installs nothing', async () => {
    const replica = await startTestDatabase({ embedded: true });
    const client = await connected(replica.url);
    try {
      await client.query(`CREATE TABLE plain (id int PRIMARY KEY)`);
      await expect(install(client, parseConfig({ watches: [{ table: 'plain', capture: 'wal' }] }))).rejects.toThrow(
        /watch "public\.plain": "capture": "wal" needs wal_level = logical \(this server has replica\)/,
      );
      expect((await client.query(`SELECT to_regclass('pgbridge.watch') AS t`)).rows[0].t).toBeNull();
    } finally {
      await client.end();
      await replica.stop();
    }
  });
});

describe('an event the sink refuses for its content', () => {
  let smallQueue: string;

  it('is parked with the reason, the rest is sent once and the slot moves on; `parked resend` sends it through the outbox', async () => {
    await listener?.stop();
    await db.query(`CREATE TABLE notes (id int PRIMARY KEY, body text)`);
    const queue = await aws.resources.createQueue(aws.name('small'), { MaximumMessageSize: '1024' });
    smallQueue = queue.url;
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      queueUrl: queue.url,
      config: { watches: [{ table: 'notes', capture: 'wal' }] },
    });
    await db.query(
      `BEGIN; INSERT INTO notes VALUES (10, repeat('x', 2000)); INSERT INTO notes SELECT g, 'fine' FROM generate_series(11, 30) AS g; COMMIT`,
    );
    const delivered = await receiveMessages(aws, queue.url, { count: 20, timeoutMs: 10_000, settleMs: 1000 });
    // The round that held the refused event was read again, but what the sink had accepted went once.
    expect(delivered.map((message) => message.event.key.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM pgbridge.parked`)).rows[0].n === 1, 10_000, 'parked event');
    const { rows } = await db.query(`SELECT (key->>'id')::int AS id, reason FROM pgbridge.parked`);
    expect(rows[0]).toMatchObject({ id: 10, reason: expect.stringContaining('shorter than 1024 bytes') });
    await waitFor(
      async () =>
        (await db.query(`SELECT confirmed_flush_lsn >= pg_current_wal_lsn() - 100000 AS caught_up FROM pg_replication_slots`)).rows[0]
          .caught_up,
      5000,
      'the slot to move past the parked event',
    );

    await aws.resources.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { MaximumMessageSize: '262144' } }));
    const resent = await run(process.execPath, ['--import', 'tsx', 'bin/pgbridge.ts', 'parked', 'resend'], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(resent.stdout).toContain('1 parked event(s) back in the outbox');
    const [again] = await receiveMessages(aws, queue.url, { count: 1, timeoutMs: 10_000 });
    expect(again!.event).toMatchObject({ key: { id: 10 }, action: 'insert', table: 'notes', id: expect.stringMatching(/^\d+$/) });
    expect(again!.event.row.body).toHaveLength(2000);
  });

  it('a backfill of a WAL watch sends its rows as read events (through the outbox)', async () => {
    const backfill = await run(process.execPath, ['--import', 'tsx', 'bin/pgbridge.ts', 'backfill', '--table', 'notes'], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'notes', capture: 'wal' }] }),
      },
    });
    expect(`${backfill.stdout}${backfill.stderr}`).toContain('21 rows sent as read events');
    const reads = await receiveMessages(aws, smallQueue, { count: 21, timeoutMs: 10_000, settleMs: 300 });
    expect(reads.map((message) => message.event.action)).toEqual(Array(21).fill('read'));
    expect(new Set(reads.map((message) => message.event.key.id)).size).toBe(21);
  });
});

describe('a FIFO topic', () => {
  it('gets each row of a WAL watch in its own message group, in commit order, with many batches in flight', async () => {
    await listener?.stop();
    await db.query(`CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)`);
    await db.query(`INSERT INTO counters SELECT g, 0 FROM generate_series(1, 20) AS g`);
    const fifoTopic = await aws.resources.createTopic(aws.name('wal.fifo'));
    const queue = await aws.resources.subscribeQueue(fifoTopic, aws.name('wal-ordered.fifo'));
    const endpoint = new URL(aws.endpoint);
    const proxy = new TcpProxy(Number(endpoint.port), endpoint.hostname);
    // Random network delays make concurrent batch calls complete out of order.
    proxy.jitterMs = 30;
    await proxy.start();
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: proxy.url,
      topicArn: fifoTopic,
      batchSize: 40,
      maxInFlight: 8,
      config: { watches: [{ table: 'counters', capture: 'wal', actions: ['update'] }] },
    });
    for (let round = 1; round <= 10; round++)
      await Promise.all(Array.from({ length: 20 }, (_, i) => db.query(`UPDATE counters SET n = $1 WHERE id = $2`, [round, i + 1])));
    const messages = await receiveMessages(aws, queue.url, { count: 200, timeoutMs: 30_000 });
    expect(messages).toHaveLength(200);
    const seen = new Map<string, number[]>();
    for (const message of messages) seen.set(message.groupId!, [...(seen.get(message.groupId!) ?? []), message.event.row.n]);
    expect([...seen.keys()].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `public.counters:${i + 1}`).sort());
    for (const sequence of seen.values()) expect(sequence).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await proxy.cut();
  });
});

describe('a WAL watch with "when"', () => {
  const conditional = [
    { table: 'orders', label: 'trigger-insert', actions: ['insert' as const], when: 'NEW.total >= 100' },
    { table: 'orders', label: 'wal-insert', capture: 'wal' as const, actions: ['insert' as const], when: 'NEW.total >= 100' },
    {
      table: 'orders',
      label: 'trigger-update',
      actions: ['update' as const, 'delete' as const],
      when: "OLD.status IS DISTINCT FROM 'paid'",
    },
    {
      table: 'orders',
      label: 'wal-update',
      capture: 'wal' as const,
      actions: ['update' as const, 'delete' as const],
      when: "OLD.status IS DISTINCT FROM 'paid'",
    },
    { table: 'ratios', capture: 'wal' as const, actions: ['insert' as const], when: '100 / NEW.qty > 1' },
  ];

  it('sends exactly what a trigger watch with the same condition sends', async () => {
    await listener?.stop();
    await db.query(
      `CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric); CREATE TABLE ratios (id int PRIMARY KEY, qty int)`,
    );
    const queue = await queueFor({ table: ['orders'] });
    listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, config: { watches: conditional } });
    await db.query(`INSERT INTO orders VALUES (1, 'new', 250), (2, 'new', 99.99), (3, 'paid', 100)`);
    await db.query(`UPDATE orders SET status = 'paid' WHERE id = 1`); // sent: it was not paid
    await db.query(`UPDATE orders SET total = 1 WHERE id = 3`); // kept out: it was paid
    await db.query(`UPDATE orders SET id = 20, status = 'refunded' WHERE id = 2`); // a key change: delete + insert
    await db.query(`UPDATE orders SET total = 0 WHERE id = 1`); // kept out: paid by now
    await db.query(`DELETE FROM orders WHERE id IN (1, 20)`); // 20 was refunded: sent; 1 paid: kept out
    const messages = await receiveMessages(aws, queue, { count: 12, settleMs: 700 });
    for (const action of ['insert', 'update']) {
      const trigger = byLabel(messages, `trigger-${action}`);
      const wal = byLabel(messages, `wal-${action}`);
      expect(wal.map(comparable)).toEqual(trigger.map(comparable));
    }
    expect(byLabel(messages, 'wal-insert').map((event) => event.key)).toEqual([{ id: 1 }, { id: 3 }]);
    expect(byLabel(messages, 'wal-update').map((event) => [event.action, event.key])).toEqual([
      ['update', { id: 1 }],
      ['delete', { id: 2 }],
      ['insert', { id: 20 }],
      ['delete', { id: 20 }],
    ]);
  });

  it('sends a change whose condition Postgres cannot evaluate, and says so; the others are decided row by row', async () => {
    await listener?.stop();
    const queue = await queueFor({ table: ['ratios'] });
    const logged = capturedLogs.length;
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      topicArn,
      config: { watches: conditional },
    });
    // One transaction: one round, one query that fails for the row with qty 0.
    await db.query(`INSERT INTO ratios VALUES (1, 10), (2, 0), (3, 200), (4, 50)`);
    const messages = await receiveMessages(aws, queue, { count: 3, settleMs: 700 });
    expect(messages.map((message) => message.event.key.id).sort()).toEqual([1, 2, 4]);
    const problem = capturedLogs.slice(logged).find((line) => String(line.msg).includes('could not be evaluated'));
    expect(problem).toMatchObject({ watch: 'public.ratios', changes: 1, error: expect.stringMatching(/division by zero/) });
  });

  it('a round read again keeps its ids when the condition answers differently the second time', async () => {
    await listener?.stop();
    // A condition that depends on more than the row (as one using now() or a setting would):
    // true the first time the listener's session evaluates it for row 1, false after that.
    await db.query(`
      CREATE TABLE gated (id int PRIMARY KEY, body text);
      CREATE FUNCTION public.first_look(id int) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
      BEGIN
        IF id <> 1 THEN RETURN true; END IF;
        IF current_setting('gate.seen_1', true) = 'yes' THEN RETURN false; END IF;
        PERFORM set_config('gate.seen_1', 'yes', false);
        RETURN true;
      END $$;`);
    const queue = await aws.resources.createQueue(aws.name('gated'), { MaximumMessageSize: '1024' });
    listener = await startTestListener({
      databaseUrl: db.url,
      endpoint: aws.endpoint,
      queueUrl: queue.url,
      config: { watches: [{ table: 'gated', capture: 'wal', actions: ['insert'], when: 'public.first_look(NEW.id)' }] },
    });
    // Row 2 is too large for the queue: the round is refused in part and read again, and by
    // then the condition keeps row 1 out. Row 2 must not take the id row 1 was sent with.
    await db.query(`INSERT INTO gated VALUES (1, 'first'), (2, repeat('x', 2000)), (3, 'third')`);
    const delivered = await receiveMessages(aws, queue.url, { count: 2, timeoutMs: 10_000, settleMs: 500 });
    expect(delivered.map((message) => message.event.key.id).sort()).toEqual([1, 3]);
    await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM pgbridge.parked`)).rows[0].n === 1, 10_000, 'parked event');
    const parked = (await db.query(`SELECT id::text, (key->>'id')::int AS key FROM pgbridge.parked`)).rows[0];
    expect(parked.key).toBe(2);
    expect(delivered.map((message) => message.event.id)).not.toContain(parked.id);
    await db.query(`DELETE FROM pgbridge.parked`);
  });

  it('is checked by Postgres as a trigger condition is, and a refused one installs nothing', async () => {
    await listener?.stop();
    listener = undefined;
    const client = await connected(db.url);
    try {
      const installed = async () => (await client.query(`SELECT name FROM pgbridge.watch ORDER BY name`)).rows.map((row) => row.name);
      const before = await installed();
      await expect(
        install(client, parseConfig({ watches: [{ table: 'orders', capture: 'wal', actions: ['insert'], when: 'OLD.total > 1' }] })),
      ).rejects.toThrow(/watch "public\.orders": when: .*an insert has NEW, an update NEW and OLD, a delete OLD/);
      await expect(
        install(client, parseConfig({ watches: [{ table: 'orders', capture: 'wal', when: 'random() > 0.5' }] })),
      ).rejects.toThrow(/watch "public\.orders": when: random\(\) is a volatile function/);
      await expect(
        install(client, parseConfig({ watches: [{ table: 'orders', capture: 'wal', when: 'NEW.no_such > 1' }] })),
      ).rejects.toThrow(/watch "public\.orders": when: .*no_such/);
      // A trigger may read a system column; a row image has none.
      await expect(
        install(client, parseConfig({ watches: [{ table: 'orders', capture: 'wal', actions: ['insert'], when: 'NEW.ctid IS NOT NULL' }] })),
      ).rejects.toThrow(/watch "public\.orders": when: .*ctid/);
      expect(await installed()).toEqual(before);
      // No trigger is left behind by the check.
      const triggers = await client.query(
        `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND tgname LIKE '%check%'`,
      );
      expect(triggers.rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('does not pin the table: DROP TABLE needs no CASCADE, and removing the watch drops its condition', async () => {
    const client = await connected(db.url);
    try {
      const conditions = async () =>
        (await client.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname ~ '^wal_condition_[0-9a-f]{16}$'`)).rows[0].n;
      await install(client, parseConfig({ watches: conditional }));
      expect(await conditions()).toBe(3);
      await client.query(`DROP TABLE ratios`);
      await install(client, parseConfig({ watches: conditional.filter((watch) => watch.capture !== 'wal') }));
      expect(await conditions()).toBe(0);
    } finally {
      await client.end();
    }
  });
});
