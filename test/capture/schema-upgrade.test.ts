import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { install, installScript } from '../../lib/capture/installer.ts';
import { statement } from '../../lib/capture/sql-files.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { spawnListener, type ListenerProcess } from '../support/listener-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { capturedLogs, startTestListener, waitFor } from '../support/test-listener.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/schema-before-versions/', import.meta.url));
/** main before schema versions were recorded: the version a rolling deploy replaces. */
const COMMIT_BEFORE_VERSIONS = '269f69c';
const WATCHES = parseConfig({ watches: [{ table: 'orders' }] });

let server: TestDatabase;
let aws: TestAws;
let databases = 0;
const listeners: Listener[] = [];
const processes: ListenerProcess[] = [];

beforeAll(async () => {
  [server, aws] = await Promise.all([startTestDatabase({ embedded: true }), startTestAws()]);
});

afterEach(async () => {
  for (const listener of listeners.splice(0)) await listener.stop();
  for (const child of processes.splice(0)) {
    child.child.kill('SIGKILL');
    await child.exited;
  }
});

afterAll(async () => {
  await Promise.all([server?.stop(), aws?.stop()]);
});

/** A database of its own for each test, with the watched table. */
async function freshDatabase(): Promise<{ url: string; pool: pg.Pool }> {
  const name = `upgrade_${++databases}`;
  await server.query(`CREATE DATABASE ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 8 });
  await pool.query(`CREATE TABLE orders (id int PRIMARY KEY, total int)`);
  return { url: url.toString(), pool };
}

/** What `pgbridge install` did before versions were recorded: the fixture's files, then the watches. */
async function installBeforeVersions(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(statement('admin/install-session'));
    for (const file of ['001-schema.sql', '002-watch-install.sql', '003-listener-role.sql'])
      await client.query(readFileSync(join(FIXTURE, file), 'utf8'));
    await client.query(`SELECT pgbridge.install_watches($1::jsonb)`, [JSON.stringify(WATCHES)]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function installNow(url: string, retentionDays: number | null = 7): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await install(client, WATCHES, { retentionDays });
  } finally {
    await client.end();
  }
}

/** Inserts one order per statement until stopped; resolves with how many committed. */
function keepWriting(pool: pg.Pool, firstId: number): { stop: () => Promise<number> } {
  let stopping = false;
  let written = 0;
  const loop = (async () => {
    while (!stopping) {
      await pool.query(`INSERT INTO orders VALUES ($1, 1)`, [firstId + written]);
      written++;
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return written;
    },
  };
}

async function subscribedQueue(): Promise<{ topicArn: string; queueUrl: string }> {
  const topicArn = await aws.resources.createTopic(aws.name('upgrade'));
  const queue = await aws.resources.subscribeQueue(topicArn, aws.name('upgrade-all'));
  return { topicArn, queueUrl: queue.url };
}

async function receiveAllOrders(queueUrl: string, count: number): Promise<Set<number>> {
  const received = await receiveMessages(aws, queueUrl, { count, distinct: (message) => message.event.key.id, timeoutMs: 30_000 });
  return new Set(received.map((message) => message.event.key.id as number));
}

describe('schema upgrades with events in flight', () => {
  it('an install from before schema versions upgrades in place while events wait and writers write, and every event arrives', async () => {
    const { url, pool } = await freshDatabase();
    const { topicArn, queueUrl } = await subscribedQueue();
    try {
      await installBeforeVersions(pool);
      // A least-privileged listener role granted by the old version.
      await pool.query(`CREATE ROLE drain_role LOGIN PASSWORD 'drain-pw'; SELECT pgbridge.grant_listener('drain_role')`);
      await pool.query(`INSERT INTO orders SELECT g, 1 FROM generate_series(1, 100) AS g`);

      const writers = keepWriting(pool, 1000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await installNow(url);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const writtenDuring = await writers.stop();
      expect(writtenDuring).toBeGreaterThan(0);

      const versions = await pool.query(`SELECT version, name FROM pgbridge.schema_version ORDER BY version`);
      expect(versions.rows).toEqual([
        { version: 1, name: 'baseline' },
        { version: 2, name: 'published-events' },
      ]);

      const asRole = new URL(url);
      asRole.username = 'drain_role';
      asRole.password = 'drain-pw';
      listeners.push(await startTestListener({ databaseUrl: asRole.toString(), endpoint: aws.endpoint, topicArn }));
      const arrived = await receiveAllOrders(queueUrl, 100 + writtenDuring);
      expect(arrived.size).toBe(100 + writtenDuring);
      // The old role got the new grants at the upgrade: what it published is retained.
      await waitFor(
        async () => Number((await pool.query(`SELECT count(*) FROM pgbridge.published`)).rows[0].count) === 100 + writtenDuring,
        5000,
        'retained',
      );
    } finally {
      await pool.end();
    }
  });

  it('the script of `pgbridge sql` upgrades an install from before versions as install does, and applying it twice changes nothing more', async () => {
    const { pool } = await freshDatabase();
    try {
      await installBeforeVersions(pool);
      await pool.query(`INSERT INTO orders VALUES (1, 1)`);
      const script = installScript(WATCHES, { retentionDays: 3 });
      await pool.query(script);
      await pool.query(script);
      expect(
        (await pool.query(`SELECT array_agg(version ORDER BY version) AS versions FROM pgbridge.schema_version`)).rows[0].versions,
      ).toEqual([1, 2]);
      expect((await pool.query(`SELECT days FROM pgbridge.retention`)).rows[0].days).toBe(3);
      expect((await pool.query(`SELECT count(*)::int AS n FROM pgbridge.outbox`)).rows[0].n).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('installing again applies no migration twice and keeps retained events', async () => {
    const { url, pool } = await freshDatabase();
    try {
      await installNow(url);
      await pool.query(
        `INSERT INTO pgbridge.published (id, schema_name, table_name, action, txid, at) VALUES (1, 'public', 'orders', 'insert', 1, now())`,
      );
      await installNow(url);
      const versions = await pool.query(`SELECT count(*)::int AS n FROM pgbridge.schema_version`);
      expect(versions.rows[0].n).toBe(2);
      expect((await pool.query(`SELECT count(*)::int AS n FROM pgbridge.published`)).rows[0].n).toBe(1);
      await expect(pool.query(`DELETE FROM pgbridge.published`)).rejects.toThrow(
        'retained event 1 cannot be changed or deleted: it expires with its day (retention)',
      );
    } finally {
      await pool.end();
    }
  });

  it('a listener refuses a schema older than it needs, saying which versions and what to run', async () => {
    const { url, pool } = await freshDatabase();
    const { topicArn } = await subscribedQueue();
    try {
      await installBeforeVersions(pool);
      await expect(startTestListener({ databaseUrl: url, endpoint: aws.endpoint, topicArn })).rejects.toThrow(
        'the pgbridge schema is at version 1, this pgbridge needs version 2: upgrade it first with `pgbridge install` of this version (or deploy its installer)',
      );
    } finally {
      await pool.end();
    }
  });

  it('a listener runs beside a newer compatible schema and refuses one with a breaking migration it does not know', async () => {
    const { url, pool } = await freshDatabase();
    const { topicArn, queueUrl } = await subscribedQueue();
    try {
      await installNow(url);
      await pool.query(`INSERT INTO pgbridge.schema_version (version, name, breaking) VALUES (3, 'compatible-later', false)`);
      const listener = await startTestListener({ databaseUrl: url, endpoint: aws.endpoint, topicArn });
      listeners.push(listener);
      expect(capturedLogs).toContainEqual(
        expect.objectContaining({ msg: 'schema is newer than this listener, and compatible with it', installed: 3, known: 2 }),
      );
      await pool.query(`INSERT INTO orders VALUES (1, 1)`);
      expect(await receiveAllOrders(queueUrl, 1)).toEqual(new Set([1]));
      await listeners.pop()!.stop();

      await pool.query(`INSERT INTO pgbridge.schema_version (version, name, breaking) VALUES (4, 'breaking-later', true)`);
      await expect(startTestListener({ databaseUrl: url, endpoint: aws.endpoint, topicArn })).rejects.toThrow(
        'the pgbridge schema is at version 4, and version 4 changed it in a way this pgbridge (which knows up to version 2) cannot work with',
      );
    } finally {
      await pool.end();
    }
  });

  it('a running listener that reconnects to a schema with a breaking migration it does not know stops, saying why', async () => {
    const { url, pool } = await freshDatabase();
    const { topicArn } = await subscribedQueue();
    try {
      await installNow(url);
      const listener = await startTestListener({ databaseUrl: url, endpoint: aws.endpoint, topicArn });
      listeners.push(listener);
      await waitFor(() => listener.role === 'leader', 5000, 'leader');
      await pool.query(`INSERT INTO pgbridge.schema_version (version, name, breaking) VALUES (3, 'breaking-later', true)`);
      await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'pgbridge-listener%' AND datname = current_database()`,
      );
      await waitFor(() => listener.role === 'stopped', 10_000, 'the listener stops');
      expect(capturedLogs).toContainEqual(
        expect.objectContaining({
          level: 60,
          msg: expect.stringMatching(
            /version 3 changed it in a way this pgbridge \(which knows up to version 2\) cannot work with.*; the listener stops$/,
          ),
        }),
      );
    } finally {
      await pool.end();
    }
  });

  it('a rolling deploy loses nothing: the listener from before versions drains while the new one upgrades, then hands over', async () => {
    const previous = checkoutOf(COMMIT_BEFORE_VERSIONS);
    const { url, pool } = await freshDatabase();
    const { topicArn, queueUrl } = await subscribedQueue();
    let writers: ReturnType<typeof keepWriting> | undefined;
    try {
      const old = spawnListener(
        {
          DATABASE_URL: url,
          PGBRIDGE_TOPIC_ARN: topicArn,
          AWS_ENDPOINT_URL: aws.endpoint,
          PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'orders' }] }),
        },
        join(previous, 'functions/listener/main.ts'),
      );
      processes.push(old);
      await waitFor(async () => (await old.role()) === 'leader', 30_000, 'the old listener leads');
      writers = keepWriting(pool, 1);

      const next = await startTestListener({ databaseUrl: url, endpoint: aws.endpoint, topicArn, watches: WATCHES, retentionDays: 7 });
      listeners.push(next);
      await waitFor(() => next.role === 'standby', 5000, 'the new listener waits as a standby');
      expect((await pool.query(`SELECT max(version) AS version FROM pgbridge.schema_version`)).rows[0].version).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      old.child.kill('SIGTERM');
      expect(await old.exited).toBe(0);
      await waitFor(() => next.role === 'leader', 5000, 'the new listener takes over');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const written = await writers.stop();

      const arrived = await receiveAllOrders(queueUrl, written);
      expect(arrived.size).toBe(written);
      // What the new leader published is retained; the old one deletes as it always did.
      expect(Number((await pool.query(`SELECT count(*) FROM pgbridge.published`)).rows[0].count)).toBeGreaterThan(0);
    } finally {
      await writers?.stop();
      await pool.end();
      rmSync(previous, { recursive: true, force: true });
    }
  });
});

/** The files of `commit` in a temporary directory, sharing this checkout's node_modules. */
function checkoutOf(commit: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'pgbridge-previous-'));
  try {
    execFileSync('sh', ['-c', `git -C "${REPO}" archive ${commit} | tar -x -C "${directory}"`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(
      `the rolling-deploy test runs the listener of commit ${commit} from git history, which this checkout lacks (a shallow clone?): ${(error as Error).message}`,
    );
  }
  symlinkSync(join(REPO, 'node_modules'), join(directory, 'node_modules'));
  return directory;
}
