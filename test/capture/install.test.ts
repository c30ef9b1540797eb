import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { install, installScript, uninstall } from '../../lib/capture/installer.ts';
import { statement } from '../../lib/capture/sql-files.ts';
import { parseConfig, type PgBridgeConfig } from '../../lib/config/watch-config.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';

const run = promisify(execFile);
let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await startTestDatabase();
  client = new pg.Client(db.url);
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.stop();
});

beforeEach(async () => {
  await client.query(`
    DROP SCHEMA IF EXISTS pgbridge CASCADE;
    DROP TABLE IF EXISTS users, orders, "Odd ""Name"" ; drop", "it's" CASCADE;
    CREATE TABLE "it's" (id int PRIMARY KEY);
    CREATE TABLE users (id bigint PRIMARY KEY, email text, plan text, settings json);
    CREATE TABLE orders (tenant int, id int, total numeric, PRIMARY KEY (tenant, id));
    CREATE TABLE "Odd ""Name"" ; drop" ("Key" int PRIMARY KEY, "Value Column" text);
  `);
});

const installConfig = (config: PgBridgeConfig) => install(client, parseConfig(config));

/** Capture triggers on the application's tables (not pgbridge's own). */
async function triggers(): Promise<{ table: string; name: string; oid: number }[]> {
  const { rows } = await client.query(`
    SELECT c.relname AS table, t.tgname AS name, t.oid::int AS oid
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND n.nspname <> 'pgbridge' ORDER BY 1, 2`);
  return rows;
}

async function outbox(): Promise<any[]> {
  return (await client.query(`SELECT action, label, key, row_data, old_data FROM pgbridge.outbox ORDER BY id`)).rows;
}

describe('install', () => {
  it('is idempotent and leaves unchanged watches alone on re-install', async () => {
    const config = { watches: [{ table: 'users' }, { table: 'orders', actions: ['insert' as const] }] };
    await installConfig(config);
    const first = await triggers();
    expect(first.map((trigger) => trigger.table)).toEqual(['orders', 'users', 'users']);
    await installConfig(config);
    expect(await triggers()).toEqual(first);
  });

  it('drops the triggers of a watch removed from the config', async () => {
    await installConfig({ watches: [{ table: 'users' }, { table: 'orders' }] });
    await installConfig({ watches: [{ table: 'users' }] });
    expect((await triggers()).map((trigger) => trigger.table)).toEqual(['users', 'users']);
    await client.query(`INSERT INTO orders VALUES (1, 1, 5)`);
    expect(await outbox()).toEqual([]);
  });

  it.each([
    [{ table: 'missing' }, 'watch "public.missing": table public.missing does not exist'],
    [
      { table: 'users', payload: ['id', 'emial'] },
      'watch "public.users": payload column "emial" does not exist in public.users (columns: id, email, plan, settings)',
    ],
    [{ table: 'users', columns: ['plna'] }, 'watch "public.users": columns column "plna" does not exist'],
    [{ table: 'users', exclude: ['secret'] }, 'watch "public.users": exclude column "secret" does not exist'],
  ])('a bad watch (%j) fails with a clear message and installs nothing', async (badWatch, message) => {
    await installConfig({ watches: [{ table: 'orders' }] });
    const before = await triggers();
    await expect(installConfig({ watches: [{ table: 'orders' }, badWatch] })).rejects.toThrow(message);
    expect(await triggers()).toEqual(before);
  });

  it('quotes identifiers: a table named with quotes and a semicolon is watched, nothing else runs', async () => {
    await installConfig({ watches: [{ table: 'Odd "Name" ; drop', payload: ['Key', 'Value Column'], columns: ['Value Column'] }] });
    await client.query(`INSERT INTO "Odd ""Name"" ; drop" VALUES (1, 'a')`);
    await client.query(`UPDATE "Odd ""Name"" ; drop" SET "Value Column" = 'b'`);
    expect(await outbox()).toMatchObject([
      { action: 'insert', key: { Key: 1 }, row_data: { Key: 1, 'Value Column': 'a' } },
      { action: 'update', row_data: { 'Value Column': 'b' }, old_data: { 'Value Column': 'a' } },
    ]);
    expect((await client.query(`SELECT to_regclass('users') IS NOT NULL AS present`)).rows[0].present).toBe(true);
  });

  it('captures composite keys, and nothing for rolled-back transactions or updates that change nothing', async () => {
    await installConfig({ watches: [{ table: 'orders' }, { table: 'users' }] });
    await client.query(`INSERT INTO orders VALUES (7, 1, 10)`);
    await client.query(`BEGIN; INSERT INTO orders VALUES (7, 2, 20); ROLLBACK`);
    await client.query(`UPDATE orders SET total = total`);
    // json has no equality operator; the row comparison still works.
    await client.query(`INSERT INTO users VALUES (1, 'a', 'free', '{"a": 1}')`);
    await client.query(`UPDATE users SET settings = settings`);
    expect((await outbox()).map((event) => [event.action, event.key])).toEqual([
      ['insert', { tenant: 7, id: 1 }],
      ['insert', { id: 1 }],
    ]);
  });

  it('a column the watch names cannot be dropped while the watch exists', async () => {
    await installConfig({ watches: [{ table: 'users', payload: ['id', 'plan'] }] });
    await expect(client.query(`ALTER TABLE users DROP COLUMN plan`)).rejects.toThrow(
      /cannot drop column plan of table users because other objects depend on it/,
    );
    await client.query(`ALTER TABLE users DROP COLUMN email`);
    await client.query(`INSERT INTO users (id, plan) VALUES (1, 'free')`);
    expect(await outbox()).toMatchObject([{ action: 'insert', row_data: { id: 1, plan: 'free' } }]);
  });

  it('notifies only while a live listener waits (flag set, its waiting lock held), once per transaction', async () => {
    await installConfig({ watches: [{ table: 'users' }] });
    const listener = new pg.Client(db.url);
    await listener.connect();
    const notifications: string[] = [];
    listener.on('notification', (message) => notifications.push(message.channel));
    await listener.query('LISTEN pgbridge');
    await client.query(`INSERT INTO users (id) VALUES (1)`);
    await client.query(`UPDATE pgbridge.listener_state SET waiting = true`);
    // The flag alone, as a listener killed in its sleep leaves it: nobody listens, nobody
    // notifies, and the writer clears it so that the writers after it skip the lock check too.
    await client.query(`INSERT INTO users (id) VALUES (2)`);
    expect((await client.query(`SELECT waiting FROM pgbridge.listener_state`)).rows[0].waiting).toBe(false);
    await listener.query(statement('wake/take-waiting-lock'));
    await listener.query(statement('wake/start-waiting'));
    await client.query(`INSERT INTO users (id) SELECT g FROM generate_series(3, 20) AS g`);
    await client.query(`INSERT INTO users (id) VALUES (21)`);
    await listener.query('SELECT 1');
    await listener.end();
    expect(notifications).toEqual(['pgbridge', 'pgbridge']);
  });

  it('a stale flag is cleared by the first read-committed writer, which no other session waits for', async () => {
    await installConfig({ watches: [{ table: 'users' }] });
    const flag = async () => (await client.query(`SELECT waiting FROM pgbridge.listener_state`)).rows[0].waiting;
    const sessions = await Promise.all(
      [0, 1, 2].map(async () => {
        const session = new pg.Client(db.url);
        await session.connect();
        // Anything that waits on the clearing writer's row lock fails the test instead of hanging.
        await session.query(`SET lock_timeout = '2s'`);
        return session;
      }),
    );
    const [clearing, other, listener] = sessions as [pg.Client, pg.Client, pg.Client];
    try {
      await client.query(`UPDATE pgbridge.listener_state SET waiting = true`);
      // Repeatable read and serializable writers leave it (touching a row changed since their
      // snapshot would fail their transaction), and still send nothing.
      for (const level of ['REPEATABLE READ', 'SERIALIZABLE']) {
        await other.query(`BEGIN ISOLATION LEVEL ${level}`);
        await other.query(`INSERT INTO users (id) VALUES (${level === 'SERIALIZABLE' ? 2 : 1})`);
        await other.query('COMMIT');
        expect(await flag()).toBe(true);
      }
      await clearing.query(`BEGIN; INSERT INTO users (id) VALUES (3)`);
      // While it is open: other writers, a listener starting up and status go on without waiting.
      await other.query(`INSERT INTO users (id) VALUES (4)`);
      await listener.query(statement('wake/stop-waiting'));
      expect((await listener.query(statement('admin/clear-stale-waiting-flag'))).rowCount).toBe(0);
      // A listener cannot take the waiting lock while a writer holds its shared side.
      expect((await listener.query(statement('wake/take-waiting-lock'))).rows[0].acquired).toBe(false);
      await clearing.query('ROLLBACK');
      expect(await flag()).toBe(true);
      await clearing.query(`BEGIN; INSERT INTO users (id) VALUES (5)`);
      await clearing.query('COMMIT');
      expect(await flag()).toBe(false);
      expect((await outbox()).map((event) => event.key.id)).toEqual([1, 2, 4, 5]);
    } finally {
      await Promise.all(sessions.map((session) => session.end()));
    }
  });

  it('`pgbridge sql` prints a script that installs the same thing', async () => {
    const watches = parseConfig({ watches: [{ table: "it's", label: 'quoted' }] });
    await client.query(installScript(watches));
    await client.query(`INSERT INTO "it's" (id) VALUES (1)`);
    expect(await outbox()).toMatchObject([{ action: 'insert', label: 'quoted', key: { id: 1 } }]);
    await install(client, watches);
    expect((await triggers()).length).toBe(2);
  });

  it('a watched table renamed since the last install makes the next install fail, naming it', async () => {
    await installConfig({ watches: [{ table: 'orders' }] });
    await client.query(`ALTER TABLE orders RENAME TO orders_archive`);
    await expect(installConfig({ watches: [{ table: 'orders' }] })).rejects.toThrow(
      'watch "public.orders": table public.orders does not exist',
    );
    await client.query(`ALTER TABLE orders_archive RENAME TO orders`);
  });

  it('event ids keep increasing across an uninstall and a new install, so consumers never see one twice', async () => {
    await installConfig({ watches: [{ table: 'users' }] });
    await client.query(`INSERT INTO users (id) VALUES (1)`);
    const before = BigInt((await client.query(`SELECT max(id)::text AS id FROM pgbridge.outbox`)).rows[0].id);
    await uninstall(client, { force: true });
    await installConfig({ watches: [{ table: 'users' }] });
    await client.query(`INSERT INTO users (id) VALUES (2)`);
    const after = BigInt((await client.query(`SELECT max(id)::text AS id FROM pgbridge.outbox`)).rows[0].id);
    expect(after).toBeGreaterThan(before);
    expect(after).toBeLessThan(2n ** 53n);
  });

  it('uninstall does not deadlock with a writer that holds its table: it waits for it, then removes everything', async () => {
    await installConfig({ watches: [{ table: 'users' }] });
    const writer = new pg.Client(db.url);
    await writer.connect();
    await writer.query(`BEGIN; SELECT count(*) FROM users`);
    const removing = uninstall(client, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The writer's trigger would need the outbox: uninstall must not hold it while waiting for users.
    const written = writer.query(`INSERT INTO users (id) VALUES (9); COMMIT`);
    await Promise.all([written, removing]);
    await writer.end();
    expect(await triggers()).toEqual([]);
  });

  it('uninstall refuses to drop undelivered events unless forced, and removes every trigger', async () => {
    await installConfig({ watches: [{ table: 'users' }] });
    await client.query(`INSERT INTO users (id) VALUES (1)`);
    await expect(uninstall(client)).rejects.toThrow(/1 undelivered and 0 parked events/);
    await uninstall(client, { force: true });
    expect(await triggers()).toEqual([]);
    expect((await client.query(`SELECT to_regnamespace('pgbridge') AS schema`)).rows[0].schema).toBeNull();
    await client.query(`INSERT INTO users (id) VALUES (2)`);
  });
});

describe('the pgbridge CLI', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ['--import', 'tsx', 'bin/pgbridge.ts', ...args], { env: { ...process.env, DATABASE_URL: db.url, ...env } });

  it('install with a config naming an unknown column exits 2, names the column, installs nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgbridge-cli-'));
    const file = join(dir, 'pgbridge.config.json');
    writeFileSync(file, JSON.stringify({ watches: [{ table: 'users', payload: ['id', 'card_tokn'] }] }));
    const failure = await cli(['install', '--config', file]).catch((error) => error);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('payload column "card_tokn" does not exist in public.users (columns: id, email, plan, settings)');
    expect(await triggers()).toEqual([]);

    writeFileSync(file, JSON.stringify({ watches: [{ table: 'users', payload: ['id', 'plan'] }] }));
    const ok = await cli(['install', '--config', file]);
    expect(ok.stdout).toContain('installed 1 watch(es): public.users');
    expect((await triggers()).length).toBe(2);
  });

  it('sql prints the install script without touching the database', async () => {
    const { stdout } = await cli(['sql'], { PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'users' }] }) });
    expect(stdout).toMatch(/^-- pgbridge capture/);
    expect(stdout).toContain('SELECT pgbridge.install_watches(');
    expect(await triggers()).toEqual([]);
  });
});
