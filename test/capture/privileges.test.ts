import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { install } from '../../lib/capture/installer.ts';
import { statement } from '../../lib/capture/sql-files.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener, waitFor } from '../support/test-listener.ts';

const run = promisify(execFile);
let db: TestDatabase;
let aws: TestAws;
let listener: Listener | undefined;

function asRole(role: string): string {
  const url = new URL(db.url);
  url.username = role;
  url.password = `${role}-password`;
  return url.toString();
}

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  const database = new URL(db.url).pathname.slice(1);
  // Managed Postgres (RDS, Aurora): the application owner is not a superuser.
  await db.query(`
    DROP ROLE IF EXISTS app_owner, app_writer, bridge_listener;
    CREATE ROLE app_owner LOGIN PASSWORD 'app_owner-password' NOSUPERUSER;
    CREATE ROLE app_writer LOGIN PASSWORD 'app_writer-password' NOSUPERUSER;
    CREATE ROLE bridge_listener LOGIN PASSWORD 'bridge_listener-password' NOSUPERUSER;
    GRANT CREATE ON DATABASE "${database}" TO app_owner;
    GRANT CREATE ON SCHEMA public TO app_owner;
  `);
});

afterAll(async () => {
  await listener?.stop();
  await db?.query(`DROP SCHEMA IF EXISTS pgbridge CASCADE; DROP TABLE IF EXISTS accounts`).catch(() => undefined);
  await Promise.all([db?.stop(), aws?.stop()]);
});

describe('least privilege on a managed database', () => {
  it('a non-superuser owner installs, a writer with no pgbridge rights is captured, a listener role with only the granted rights drains', async () => {
    const owner = new pg.Client(asRole('app_owner'));
    await owner.connect();
    await owner.query(`CREATE TABLE accounts (id int PRIMARY KEY, name text); GRANT INSERT, UPDATE ON accounts TO app_writer`);
    await install(owner, parseConfig({ watches: [{ table: 'accounts' }] }), { retentionDays: 7 });

    const grant = await run(process.execPath, ['--import', 'tsx', 'bin/pgbridge.ts', 'grant-listener', 'bridge_listener'], {
      env: { ...process.env, DATABASE_URL: asRole('app_owner') },
    });
    expect(grant.stdout).toContain('role bridge_listener may now run the listener');

    const writer = new pg.Client(asRole('app_writer'));
    await writer.connect();
    await writer.query(`INSERT INTO accounts VALUES (1, 'acme')`);
    await expect(writer.query(`SELECT * FROM pgbridge.outbox`)).rejects.toThrow(/permission denied/);
    await expect(writer.query(`INSERT INTO pgbridge.outbox (schema_name, table_name, action) VALUES ('x', 'y', 'insert')`)).rejects.toThrow(
      /permission denied/,
    );
    await writer.end();

    const topicArn = await aws.resources.createTopic(aws.name('privileges'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('accounts'));
    const listenerRole = new pg.Client(asRole('bridge_listener'));
    await listenerRole.connect();
    await expect(listenerRole.query(`UPDATE pgbridge.outbox SET id = DEFAULT`)).rejects.toThrow(/events cannot be changed/);
    await expect(listenerRole.query(`UPDATE pgbridge.outbox SET row_data = '{}'`)).rejects.toThrow(/permission denied/);
    // Started without --no-install by mistake: the error says which role installs and which listens.
    await expect(install(listenerRole, parseConfig({ watches: [{ table: 'accounts' }] }))).rejects.toThrow(
      /^install failed, nothing was changed: permission denied .*\(install as the tables' owner .*a role given `pgbridge grant-listener` runs `pgbridge listen --no-install`\)$/,
    );
    await listenerRole.end();
    listener = await startTestListener({ databaseUrl: asRole('bridge_listener'), endpoint: aws.endpoint, topicArn });
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.event).toMatchObject({ table: 'accounts', action: 'insert', row: { id: 1, name: 'acme' } });

    // Retention: the listener appends what it published and keeps the partitions through the
    // upkeep function, and can neither read, change nor drop what is kept.
    await waitFor(async () => (await owner.query(`SELECT count(*)::int AS n FROM pgbridge.published`)).rows[0].n === 1, 5000, 'retained');
    const partition = (
      await owner.query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'pgbridge.published'::regclass LIMIT 1`,
      )
    ).rows[0].relname;
    await owner.end();
    const retainedByListener = new pg.Client(asRole('bridge_listener'));
    await retainedByListener.connect();
    try {
      await expect(retainedByListener.query(`SELECT * FROM pgbridge.published`)).rejects.toThrow(/permission denied/);
      await expect(retainedByListener.query(`DELETE FROM pgbridge.published`)).rejects.toThrow(/permission denied/);
      await expect(retainedByListener.query(`DROP TABLE pgbridge.${partition}`)).rejects.toThrow(/must be owner/);
      await expect(retainedByListener.query(`UPDATE pgbridge.retention SET days = 1`)).rejects.toThrow(/permission denied/);
      await retainedByListener.query(statement('admin/maintain-published'));
    } finally {
      await retainedByListener.end();
    }
  });

  it('a listener role granted before an upgrade keeps draining, coalesced updates of a writer with no pgbridge rights included', async () => {
    const owner = new pg.Client(asRole('app_owner'));
    await owner.connect();
    // What an install from before coalescing had: no pgbridge.coalescing, so no grant on it.
    await owner.query(`DROP TABLE pgbridge.coalescing`);
    await install(owner, parseConfig({ watches: [{ table: 'accounts', coalesce: '1s' }] }));
    await owner.end();
    const topicArn = await aws.resources.createTopic(aws.name('upgraded'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('upgraded'));
    await listener?.stop();
    listener = await startTestListener({ databaseUrl: asRole('bridge_listener'), endpoint: aws.endpoint, topicArn });

    const writer = new pg.Client(asRole('app_writer'));
    await writer.connect();
    await writer.query(`UPDATE accounts SET name = 'acme 2'`);
    await writer.query(`UPDATE accounts SET name = 'acme 3'`);
    await writer.end();
    const messages = await receiveMessages(aws, queue.url, { count: 1, settleMs: 500 });
    expect(messages.map((message) => message.event)).toMatchObject([
      { action: 'update', row: { id: 1, name: 'acme 3' }, old: { id: 1, name: 'acme' }, coalesced: 2 },
    ]);
  });

  it('a listener role granted before the status tables existed gets its rights on them at the next install, and drains', async () => {
    await listener?.stop();
    listener = undefined;
    // What a grant made by an earlier version left: nothing on the tables added since.
    await db.query(`REVOKE ALL ON pgbridge.leadership, pgbridge.published_count FROM bridge_listener`);
    const owner = new pg.Client(asRole('app_owner'));
    await owner.connect();
    await install(owner, parseConfig({ watches: [{ table: 'accounts' }] }));
    await owner.end();

    const topicArn = await aws.resources.createTopic(aws.name('privileges-upgrade'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('accounts-upgrade'));
    listener = await startTestListener({ databaseUrl: asRole('bridge_listener'), endpoint: aws.endpoint, topicArn });
    await db.query(`INSERT INTO accounts VALUES (2, 'globex')`);
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.event).toMatchObject({ table: 'accounts', action: 'insert', row: { id: 2, name: 'globex' } });
    const { rows } = await db.query(`SELECT sum(events)::int AS published FROM pgbridge.published_count WHERE table_name = 'accounts'`);
    expect(rows[0].published).toBeGreaterThanOrEqual(1);
  });
});
