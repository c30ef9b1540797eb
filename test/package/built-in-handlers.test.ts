import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInHandlerDirectory } from '../../lib/cdk/package-assets.ts';
import { sentEmails, startLocalSes, type LocalSes } from '../../lib/local/local-ses.ts';
import { changeEvent, sqsEvent } from '../support/sqs-event.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
// What Lambda unpacks into /var/task, next to the only thing the runtime adds: the AWS SDK.
const task = mkdtempSync(join(tmpdir(), 'pgbridge-task-'));
let ses: LocalSes;

beforeAll(async () => {
  ses = await startLocalSes();
  cpSync(builtInHandlerDirectory('email-handler'), task, { recursive: true });
  mkdirSync(join(task, 'node_modules'));
  symlinkSync(join(REPO, 'node_modules', '@aws-sdk'), join(task, 'node_modules', '@aws-sdk'));
});

afterAll(async () => {
  rmSync(task, { recursive: true, force: true });
  await ses?.stop();
});

describe('the prebuilt built-in handlers', () => {
  it('the email bundle, alone with the runtime SDK and configured as EmailConsumer configures it, sends the email', async () => {
    const invoke = `const { handler } = await import(${JSON.stringify(pathToFileURL(join(task, 'index.mjs')).href)});
      process.stdout.write(JSON.stringify(await handler(JSON.parse(process.env.EVENT))));`;
    const event = sqsEvent([changeEvent({ row: { id: 7, name: 'Lin', email: 'lin@example.com' } })]);
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', invoke], {
      cwd: task,
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: ses.endpoint,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        PGBRIDGE_EMAIL_FROM: 'team@example.com',
        PGBRIDGE_EMAIL_TO: JSON.stringify(['{{row.email}}']),
        PGBRIDGE_EMAIL_SUBJECT: 'Welcome {{row.name}}',
        PGBRIDGE_EMAIL_TEXT: 'Hello {{row.name}}',
        EVENT: JSON.stringify(event),
      },
    });
    expect(JSON.parse(stdout)).toEqual({ batchItemFailures: [] });
    const emails = (await sentEmails(ses.endpoint)).filter((email) => email.to.includes('lin@example.com'));
    expect(emails).toMatchObject([{ subject: 'Welcome Lin', text: 'Hello Lin' }]);
  });
});
