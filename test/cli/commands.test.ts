import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statement } from '../../lib/capture/sql-files.ts';
import { runCli } from '../support/cli-process.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';

const PINO_FATAL = 60;

let db: TestDatabase;

beforeAll(async () => {
  db = await startTestDatabase();
  await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, email text)`);
});

afterAll(async () => {
  await db?.stop();
});

const pgbridge = (...args: string[]) => runCli(args, { DATABASE_URL: db.url });

function configFile(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pgbridge-cli-')), 'pgbridge.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('pgbridge commands against a database', () => {
  it('commands that need the schema say to install first (exit 2) instead of a Postgres error', async () => {
    const notInstalled =
      'pgbridge: pgbridge is not installed in this database: run `pgbridge install` first (or apply `pgbridge sql` with your migration tool)\n';
    for (const args of [
      ['grant-listener', 'someone'],
      ['parked', 'list'],
      ['parked', 'resend'],
    ]) {
      expect(await pgbridge(...args), args.join(' ')).toEqual({ code: 2, stdout: '', stderr: notInstalled });
    }
  });

  it('status says when pgbridge is not installed, then counts undelivered and parked events', async () => {
    expect(await pgbridge('status')).toEqual({ code: 0, stdout: 'pgbridge is not installed in this database\n', stderr: '' });

    const installed = await pgbridge('install', '--config', configFile({ watches: [{ table: 'accounts' }] }));
    expect(installed).toMatchObject({ code: 0, stdout: 'installed 1 watch(es): public.accounts\n' });
    await db.query(`INSERT INTO accounts VALUES (1, 'a@example.com'), (2, 'b@example.com')`);
    expect(JSON.parse((await pgbridge('status', '--json')).stdout)).toMatchObject({ installed: true, waiting: 2, parked: 0 });
  });

  it('parked list shows refused events with their reason, and parked resend --id brings back only those', async () => {
    const { rows } = await db.query<{ id: string }>(`SELECT id::text FROM pgbridge.outbox ORDER BY id`);
    const ids = rows.map((row) => row.id);
    await db.query(statement('drain/park-events'), [ids, ids.map((id) => `too large (event ${id})`)]);

    const listed = await pgbridge('parked', 'list', '--limit', '1');
    expect(listed.code).toBe(0);
    const lines = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([expect.objectContaining({ id: ids[0], table_name: 'accounts', reason: `too large (event ${ids[0]})` })]);

    expect(await pgbridge('parked', 'resend', '--id', ids[1]!, '--id', '12')).toMatchObject({
      code: 0,
      stdout: '1 parked event(s) back in the outbox\nnot parked (nothing done for them): 12\n',
    });
    expect(JSON.parse((await pgbridge('status', '--json')).stdout)).toMatchObject({ waiting: 1, parked: 1 });
    expect((await pgbridge('parked', 'resend')).stdout).toBe('1 parked event(s) back in the outbox\n');
    expect((await pgbridge('parked', 'list')).stdout).toBe('no parked events\n');
  });

  it('install that the database refuses exits 2 naming the column; uninstall refuses undelivered events (exit 2) unless --force', async () => {
    const refused = await pgbridge('install', '--config', configFile({ watches: [{ table: 'accounts', payload: ['id', 'emial'] }] }));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('payload column "emial" does not exist in public.accounts (columns: id, email)');

    const kept = await pgbridge('uninstall');
    expect(kept.code).toBe(2);
    expect(kept.stderr).toBe(
      'pgbridge: uninstall would delete 2 undelivered and 0 parked events; let the listener drain them or pass --force\n',
    );
    expect(await pgbridge('uninstall', '--force')).toMatchObject({ code: 0, stdout: 'pgbridge removed\n' });
    expect((await pgbridge('status')).stdout).toBe('pgbridge is not installed in this database\n');
  });

  it('listen runs the listener, which logs what to set and exits 2 when no sink is configured', async () => {
    const { code, stdout } = await runCli(['listen', '--no-install'], {
      DATABASE_URL: db.url,
      PGBRIDGE_TOPIC_ARN: undefined,
      PGBRIDGE_QUEUE_URL: undefined,
    });
    expect(code).toBe(2);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({
      level: PINO_FATAL,
      msg: expect.stringContaining('set PGBRIDGE_TOPIC_ARN (an SNS topic) or PGBRIDGE_QUEUE_URL (an SQS queue)'),
    });
  });

  it('a listener setting that is not true/false is refused, not read as "install": PGBRIDGE_NO_INSTALL=1 exits 2 naming it and leaves the triggers alone', async () => {
    const { code, stdout } = await runCli(['listen'], {
      DATABASE_URL: db.url,
      PGBRIDGE_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:t',
      PGBRIDGE_NO_INSTALL: '1',
    });
    expect(code).toBe(2);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({
      level: PINO_FATAL,
      msg: expect.stringContaining('PGBRIDGE_NO_INSTALL'),
    });
    expect(stdout).not.toContain('watches installed');
  });

  it('an unknown PGBRIDGE_LOG_LEVEL is a configuration error that names the variable and the levels', async () => {
    const { code, stderr } = await runCli(['listen', '--no-install'], { DATABASE_URL: db.url, PGBRIDGE_LOG_LEVEL: 'verbose' });
    expect(code).toBe(2);
    expect(stderr).toBe('pgbridge: PGBRIDGE_LOG_LEVEL: "verbose" is not a log level (fatal, error, warn, info, debug, trace, silent)\n');
  });

  it('grant-listener names a role that does not exist (exit 2) and grants nothing', async () => {
    expect((await pgbridge('install', '--config', configFile({ watches: [{ table: 'accounts' }] }))).code).toBe(0);
    expect(await pgbridge('grant-listener', 'nosuchrole')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgbridge: role "nosuchrole" does not exist: create it first (CREATE ROLE ... LOGIN), then grant it\n',
    });
  });

  it('a database that cannot be reached is a failure (exit 1), not a configuration error', async () => {
    const { code, stderr } = await runCli(['status'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(code).toBe(1);
    expect(stderr).toContain('pgbridge: connect ECONNREFUSED 127.0.0.1:1');
  });
});
