import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { runCli } from '../support/cli-process.ts';
import { spawnListener, type ListenerProcess } from '../support/listener-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/test-listener.ts';

let db: TestDatabase;
let aws: TestAws;
const running: ListenerProcess[] = [];

const INSTALLED = {
  watches: [{ table: 'accounts' }, { table: 'orders', label: 'paid', columns: ['paid'] }, { table: 'invoices' }],
};

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, email text);
                  CREATE TABLE orders (id int PRIMARY KEY, paid boolean);
                  CREATE TABLE invoices (id int PRIMARY KEY);
                  CREATE TABLE refunds (id int PRIMARY KEY)`);
  await installWatches(INSTALLED);
});

afterEach(async () => {
  for (const listener of running.splice(0)) {
    listener.child.kill('SIGKILL');
    await listener.exited;
  }
  await db.query(`DELETE FROM pgbridge.outbox`);
  // A fresh install: a watch with a trigger dropped by hand is kept by a re-install.
  await db.query(`SELECT pgbridge.drop_watch(name) FROM pgbridge.watch`);
  await installWatches(INSTALLED);
});

afterAll(async () => {
  await Promise.all([db?.stop(), aws?.stop()]);
});

async function installWatches(config: unknown): Promise<void> {
  const client = new pg.Client(db.url);
  await client.connect();
  try {
    await install(client, parseConfig(config));
  } finally {
    await client.end();
  }
}

function configFile(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pgbridge-status-')), 'pgbridge.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Run where there is no pgbridge.config.json, so that only --config names one. */
const noConfigHere = mkdtempSync(join(tmpdir(), 'pgbridge-status-cwd-'));
const pgbridge = (...args: string[]) =>
  runCli(args, { DATABASE_URL: db.url, PGBRIDGE_CONFIG_JSON: undefined, PGBRIDGE_CONFIG: undefined }, { cwd: noConfigHere });

/** `pgbridge ARGS` left running in its own process, for a backfill caught mid-way. */
function startCli(...args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../bin/pgbridge.ts', import.meta.url)), ...args], {
    env: { ...process.env, DATABASE_URL: db.url },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

async function statusJson(...args: string[]): Promise<any> {
  const { code, stdout, stderr } = await pgbridge('status', '--json', ...args);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout);
}

describe('pgbridge status', () => {
  it('compares each watch with the config: installed, out of date, not installed, no such table, not in config, trigger missing', async () => {
    await db.query(`INSERT INTO accounts VALUES (1, 'a@example.com'), (2, 'b@example.com')`);
    await db.query(`SELECT pg_sleep(0.2)`);
    await db.query(`INSERT INTO orders VALUES (1, true)`);
    // The triggers capturing inserts and deletes (tgtype bits 4 and 8), dropped by hand.
    const { rows } = await db.query(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'invoices'::regclass AND NOT tgisinternal AND tgtype & 12 <> 0`,
    );
    for (const { tgname } of rows) await db.query(`DROP TRIGGER ${tgname} ON invoices`);
    const changed = configFile({
      watches: [
        { table: 'accounts' },
        { table: 'orders', label: 'paid', columns: ['paid', 'id'] },
        { table: 'invoices' },
        { table: 'refunds' },
        { table: 'shop.carts' },
      ],
    });

    const status = await statusJson('--config', changed);
    const watches = Object.fromEntries(status.watches.map((watch: any) => [watch.name, watch]));
    expect(Object.keys(watches).sort()).toEqual([
      'public.accounts',
      'public.invoices',
      'public.orders#paid',
      'public.refunds',
      'shop.carts',
    ]);
    expect(watches['public.accounts']).toMatchObject({ state: 'installed', waiting: 2, publishedLastMinute: 0 });
    expect(watches['public.accounts'].oldestAgeSeconds).toBeGreaterThanOrEqual(0.2);
    expect(watches['public.orders#paid']).toMatchObject({ state: 'out of date', label: 'paid', waiting: 1 });
    expect(watches['public.orders#paid'].oldestAgeSeconds).toBeLessThan(watches['public.accounts'].oldestAgeSeconds);
    expect(watches['public.invoices']).toMatchObject({
      state: 'trigger missing',
      missingTriggers: ['insert', 'delete'],
      waiting: 0,
      oldestAgeSeconds: null,
    });
    expect(watches['public.refunds']).toMatchObject({ state: 'not installed' });
    expect(watches['shop.carts']).toMatchObject({ state: 'no such table', waiting: 0 });
    expect(status).toMatchObject({
      installed: true,
      waiting: 3,
      parked: 0,
      comparedWithConfig: true,
      listeners: [],
      waitingFlag: { state: 'clear' },
    });

    const withoutAccounts = await statusJson('--config', configFile({ watches: [{ table: 'orders', label: 'paid', columns: ['paid'] }] }));
    expect(withoutAccounts.watches.find((watch: any) => watch.name === 'public.accounts').state).toBe('not in config');

    const text = await pgbridge('status', '--config', changed);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('leader      none: no listener holds the leader lock, events wait in the outbox');
    expect(text.stdout).toMatch(/public\.accounts\s+installed\s+2\s+\d+\.\d s\s+0/);
    expect(text.stdout).toContain('watch "public.orders#paid": out of date; the config changed since install: run `pgbridge install`');
    expect(text.stdout).toContain('watch "public.refunds": not installed; run `pgbridge install`');
    expect(text.stdout).toContain(
      'watch "shop.carts": no such table; the config names a table this database does not have: create it (migrations not run yet?) or fix the config',
    );
    expect(text.stdout).toContain(
      'watch "public.invoices": trigger missing (for insert, delete); drop the watch\'s remaining trigger on the table, then run `pgbridge install`',
    );
  });

  it('names the leader (pid@host, since when) and its standby, and counts events published in the last minute per watch', async () => {
    const queueUrl = (await aws.resources.createQueue(aws.name('status'))).url;
    const env = {
      DATABASE_URL: db.url,
      PGBRIDGE_QUEUE_URL: queueUrl,
      AWS_ENDPOINT_URL: aws.endpoint,
      PGBRIDGE_CONFIG_JSON: JSON.stringify(INSTALLED),
    };
    const startedAt = Date.now();
    const a = spawnListener(env);
    const b = spawnListener(env);
    running.push(a, b);
    await waitFor(async () => [await a.role(), await b.role()].sort().join() === 'leader,standby', 20_000, 'a leader and a standby');
    const [leader, standby] = (await a.role()) === 'leader' ? [a, b] : [b, a];

    await db.query(`INSERT INTO accounts SELECT g, 'user' || g FROM generate_series(10, 16) AS g`);
    await db.query(`INSERT INTO orders VALUES (10, false)`);
    expect(await receiveMessages(aws, queueUrl, { count: 8 })).toHaveLength(8);
    await waitFor(async () => (await statusJson()).waiting === 0, 5000, 'an empty outbox');

    const status = await statusJson();
    expect(status.listeners).toEqual([
      {
        process: `${leader.child.pid}@${hostname()}`,
        backendPid: expect.any(Number),
        clientAddr: expect.anything(),
        leader: true,
        since: expect.any(String),
      },
      {
        process: `${standby.child.pid}@${hostname()}`,
        backendPid: expect.any(Number),
        clientAddr: expect.anything(),
        leader: false,
        since: null,
      },
    ]);
    expect(Date.parse(status.listeners[0].since)).toBeGreaterThanOrEqual(startedAt - 1000);
    expect(status.publishedLastMinute).toBe(8);
    const published = Object.fromEntries(status.watches.map((watch: any) => [watch.name, watch.publishedLastMinute]));
    expect(published).toEqual({ 'public.accounts': 7, 'public.orders#paid': 1, 'public.invoices': 0 });
    expect(status.comparedWithConfig).toBe(false);

    const text = (await pgbridge('status')).stdout;
    expect(text).toContain(`leader      ${leader.child.pid}@${hostname()} since ${status.listeners[0].since}`);
    expect(text).toContain(`standbys    ${standby.child.pid}@${hostname()}`);
    expect(text).toContain('published   8 in the last minute');
  });

  it('--max-age exits 1 when the oldest waiting event is older, 0 when it is younger, and names a duration it cannot read before connecting (exit 2)', async () => {
    await db.query(`INSERT INTO invoices VALUES (100)`);
    await db.query(`SELECT pg_sleep(1.1)`);

    const old = await pgbridge('status', '--max-age', '1s');
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/^pgbridge: the oldest waiting event is \d+\.\d s old, over --max-age \(1 s\)\n$/);
    expect(old.stdout).toContain('waiting     1 event(s), oldest');

    expect((await pgbridge('status', '--max-age', '5m')).code).toBe(0);
    expect((await pgbridge('status', '--max-age', '1s', '--watch', 'public.accounts')).code).toBe(0);
    expect((await pgbridge('status', '--max-age', '1s', '--watch', 'public.invoices')).code).toBe(1);

    for (const unreadable of ['soon', '60', '-5s']) {
      const refused = await runCli(['status', '--max-age', unreadable], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        `pgbridge status: option '--max-age <duration>' argument '${unreadable}' is invalid. expected a duration with its unit, such as 60s, 5m or 1h`,
      );
    }
  });

  it('--watch shows only the named watches; a watch that is not installed is named with the installed ones (exit 2)', async () => {
    const only = await statusJson('--watch', 'public.orders#paid');
    expect(only.watches.map((watch: any) => watch.name)).toEqual(['public.orders#paid']);

    const unknown = await pgbridge('status', '--watch', 'public.order');
    expect(unknown).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgbridge: watch "public.order" is not installed (watches: public.accounts, public.invoices, public.orders#paid)\n',
    });
  });

  it('lists unfinished backfills, running or interrupted, with their progress in both outputs; a finished one is not listed', async () => {
    await db.query(`INSERT INTO accounts SELECT g, 'backfilled' || g FROM generate_series(1000, 1039) AS g`);
    const args = ['backfill', '--table', 'accounts', '--where', 'id >= 1000', '--chunk', '10', '--target', 'Crm'];
    // No listener publishes: the backfill writes its first chunk and waits for it to go out.
    const backfill = startCli(...args);
    try {
      await waitFor(async () => (await statusJson()).backfills[0]?.rowsDone === 10, 30_000, 'the first chunk');
      const [inProgress] = (await statusJson()).backfills;
      expect(inProgress).toEqual({
        id: expect.stringMatching(/^\d+$/),
        watch: 'public.accounts',
        where: 'id >= 1000',
        target: 'Crm',
        state: 'running',
        rowsDone: 10,
        rowsEstimate: expect.any(Number),
        startedAt: expect.any(String),
        updatedAt: expect.any(String),
        finishedAt: null,
      });
      expect(Date.parse(inProgress.updatedAt)).toBeGreaterThanOrEqual(Date.parse(inProgress.startedAt));
      const text = await pgbridge('status');
      expect(text.stdout).toContain('backfills   1 running\n');
      expect(text.stdout).toMatch(/^id +watch +state +rows +target +where +started +updated$/m);
      expect(text.stdout).toMatch(
        new RegExp(
          `^${inProgress.id} +public\\.accounts +running +10/${inProgress.rowsEstimate} +Crm +id >= 1000 +${inProgress.startedAt} +${inProgress.updatedAt}$`,
          'm',
        ),
      );
      expect((await statusJson('--watch', 'public.accounts')).backfills.map((b: any) => b.id)).toEqual([inProgress.id]);
      expect((await statusJson('--watch', 'public.invoices')).backfills).toEqual([]);

      await backfill.kill();
      await waitFor(async () => (await statusJson()).backfills[0]?.state === 'interrupted', 10_000, 'the backfill seen as interrupted');
      expect((await statusJson()).backfills).toEqual([{ ...inProgress, state: 'interrupted' }]);
      const interrupted = (await pgbridge('status')).stdout;
      expect(interrupted).toContain('backfills   1 interrupted\n');
      expect(interrupted).toMatch(new RegExp(`^${inProgress.id} +public\\.accounts +interrupted +10/`, 'm'));
      expect(interrupted).toContain(
        `backfill ${inProgress.id} of public.accounts: interrupted after 10 rows (its process stopped); run the same \`pgbridge backfill\` command again to continue it, or add --restart to start over`,
      );
    } finally {
      await backfill.kill();
    }

    const queueUrl = (await aws.resources.createQueue(aws.name('backfilled'))).url;
    running.push(
      spawnListener({
        DATABASE_URL: db.url,
        PGBRIDGE_QUEUE_URL: queueUrl,
        AWS_ENDPOINT_URL: aws.endpoint,
        PGBRIDGE_CONFIG_JSON: JSON.stringify(INSTALLED),
      }),
    );
    const finished = await pgbridge(...args);
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.stdout).toMatch(/continuing after 10 rows[\s\S]*done: 40 rows sent as read events\n$/);
    expect((await statusJson()).backfills).toEqual([]);
    expect((await pgbridge('status')).stdout).toContain('backfills   none running\n');
    expect((await pgbridge('backfill', 'status')).stdout).toMatch(/^\d+ +public\.accounts +done +40\//m);
  }, 180_000);

  it("the listener's role, which may not read the backfills, still gets the rest of the status and is told why", async () => {
    await db.query(`CREATE ROLE status_probe LOGIN PASSWORD 'probe'`);
    expect(await runCli(['grant-listener', 'status_probe'], { DATABASE_URL: db.url })).toMatchObject({ code: 0 });
    await db.query(`INSERT INTO invoices VALUES (500)`);
    const asProbe = new URL(db.url);
    asProbe.username = 'status_probe';
    asProbe.password = 'probe';
    const probe = (...args: string[]) => runCli(['status', ...args], { DATABASE_URL: asProbe.toString() }, { cwd: noConfigHere });

    const json = await probe('--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ installed: true, waiting: 1, backfills: null });
    const text = await probe('--max-age', '1h');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      'backfills   not shown: this role may not read pgbridge.backfill (GRANT SELECT ON pgbridge.backfill to it)\n',
    );
  });

  it('a config that does not parse is named with its bad value (exit 2)', async () => {
    const broken = await pgbridge('status', '--config', configFile({ watches: [{ table: 'accounts', actions: ['upsert'] }] }));
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('"upsert" is not an action');
  });
});
