import { GetObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenerImageDirectory } from '../../lib/cdk/package-assets.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/test-listener.ts';

const image = mkdtempSync(join(tmpdir(), 'pgbridge-image-'));
let db: TestDatabase;
let aws: TestAws;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, name text)`);
  // The image's build context as npm run build leaves it (test/support/build-bundles.ts runs that
  // step), copied away from the checkout so that nothing else is within reach: the Dockerfile
  // COPYs exactly this listener.mjs and sql/ into /app.
  cpSync(listenerImageDirectory(), image, { recursive: true });
});

afterAll(async () => {
  rmSync(image, { recursive: true, force: true });
  await Promise.all([db?.stop(), aws?.stop()]);
});

describe('the listener container', () => {
  it('the image build context holds only the Dockerfile, the listener bundle and sql/', () => {
    expect(readdirSync(image).sort()).toEqual(['Dockerfile', 'listener.mjs', 'sql']);
  });

  it('the bundled listener, alone with its sql/ folder, installs, drains and stops on SIGTERM', async () => {
    const topicArn = await aws.resources.createTopic(aws.name('bundle'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('bundle'));
    const listener = await startBundledListener({ PGBRIDGE_TOPIC_ARN: topicArn });
    await db.query(`INSERT INTO accounts VALUES (1, 'acme')`);
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message?.event).toMatchObject({ table: 'accounts', action: 'insert', row: { id: 1, name: 'acme' } });
    expect(await listener.stop()).toBe(0);
  });

  // The bundle loads the S3 client only when a bucket is set (lib/sinks/create-sink.ts): this
  // is the path the bundled code takes then.
  it('the bundled listener with a payload bucket stores a row too large for SNS in S3 and publishes a pointer to it', async () => {
    const topicArn = await aws.resources.createTopic(aws.name('bundle-s3'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('bundle-s3'));
    const bucket = await aws.resources.createBucket(aws.name('bundle-payloads'));
    const listener = await startBundledListener({ PGBRIDGE_TOPIC_ARN: topicArn, PGBRIDGE_PAYLOAD_BUCKET: bucket });
    const name = 'x'.repeat(300_000);
    await db.query(`INSERT INTO accounts VALUES (2, $1)`, [name]);
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    const [, pointer] = JSON.parse(message!.body) as [string, { s3BucketName: string; s3Key: string }];
    expect(pointer.s3BucketName).toBe(bucket);
    const object = await aws.resources.s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointer.s3Key }));
    expect(JSON.parse(await object.Body!.transformToString())).toMatchObject({ table: 'accounts', row: { id: 2, name } });
    expect(await listener.stop()).toBe(0);
  });
});

/** Runs the image's listener.mjs as the container would, with the environment given; resolves once it leads. */
async function startBundledListener(env: Record<string, string>): Promise<{ stop: () => Promise<number | null> }> {
  const listener = spawn(process.execPath, [join(image, 'listener.mjs')], {
    cwd: image,
    env: {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      DATABASE_URL: db.url,
      AWS_ENDPOINT_URL: aws.endpoint,
      PGBRIDGE_SQL_DIR: join(image, 'sql'),
      PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'accounts' }] }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  listener.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  listener.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => listener.once('exit', resolve));
  await waitFor(() => output.includes('"role":"leader"') || listener.exitCode !== null, 20_000, 'the bundled listener to lead');
  return {
    stop: async () => {
      listener.kill('SIGTERM');
      return exited;
    },
  };
}
