import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/test-listener.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const image = mkdtempSync(join(tmpdir(), 'pgbridge-image-'));
let db: TestDatabase;
let aws: TestAws;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, name text)`);
  // The build stage of functions/listener/Dockerfile, without Docker: the same esbuild bundle,
  // laid out as in the image (/app/listener.mjs and /app/sql), run by plain node.
  execFileSync(
    join(REPO, 'node_modules', '.bin', 'esbuild'),
    [
      'functions/listener/main.ts',
      '--bundle',
      '--platform=node',
      '--target=node20',
      '--format=esm',
      '--external:pg-native',
      `--outfile=${join(image, 'listener.mjs')}`,
      "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      '--log-level=error',
    ],
    { cwd: REPO },
  );
  cpSync(join(REPO, 'sql'), join(image, 'sql'), { recursive: true });
});

afterAll(async () => {
  rmSync(image, { recursive: true, force: true });
  await Promise.all([db?.stop(), aws?.stop()]);
});

describe('the listener container', () => {
  it('the bundled listener, alone with its sql/ folder, installs, drains and stops on SIGTERM', async () => {
    const topicArn = await aws.resources.createTopic(aws.name('bundle'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('bundle'));
    const listener = spawn(process.execPath, [join(image, 'listener.mjs')], {
      cwd: image,
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        DATABASE_URL: db.url,
        PGBRIDGE_TOPIC_ARN: topicArn,
        AWS_ENDPOINT_URL: aws.endpoint,
        PGBRIDGE_SQL_DIR: join(image, 'sql'),
        PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'accounts' }] }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    listener.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    listener.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => listener.once('exit', resolve));
    await waitFor(() => output.includes('"role":"leader"') || listener.exitCode !== null, 20_000, 'the bundled listener to lead');
    await db.query(`INSERT INTO accounts VALUES (1, 'acme')`);
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message?.event).toMatchObject({ table: 'accounts', action: 'insert', row: { id: 1, name: 'acme' } });
    listener.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
