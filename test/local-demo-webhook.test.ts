import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { demoWebhookFromEnvironment } from '../lib/local/demo-webhook.ts';
import { npmScriptCommand } from './support/npm-script.ts';
import { waitFor } from './support/test-listener.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'pgbridge-start-webhook-'));

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  // As root the demo keeps its database in the temporary directory (see demoDataDir in bin/local-demo.ts).
  rmSync(join(tmpdir(), `pgbridge-demo-${createHash('sha256').update(workDir).digest('hex').slice(0, 12)}`), {
    recursive: true,
    force: true,
  });
});

/** `npm start` in its own working directory, with these variables on top of a clean environment. */
function startDemo(variables: Record<string, string>) {
  const {
    DATABASE_URL: _database,
    AWS_ENDPOINT_URL: _endpoint,
    PGBRIDGE_WEBHOOK_URL: _url,
    PGBRIDGE_WEBHOOK_SECRET: _secret,
    ...env
  } = process.env;
  const { program, args } = npmScriptCommand('start');
  const demo = spawn(program, args, {
    cwd: workDir,
    env: { ...env, PGBRIDGE_CONFIG: join(REPO, 'pgbridge.config.json'), ...variables },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, signalled as a whole the way a terminal's Ctrl-C is.
    detached: true,
  });
  const run = { output: '', exited: new Promise<number | null>((resolve) => demo.once('exit', resolve)), demo };
  demo.stdout.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  demo.stderr.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  return run;
}

describe('npm start with your own webhook receiver', () => {
  it('sends the order webhook to PGBRIDGE_WEBHOOK_URL, signed with the secret it prints, so the standardwebhooks library verifies it', async () => {
    const requests: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/orders`;
    const run = startDemo({ PGBRIDGE_WEBHOOK_URL: url });
    try {
      await waitFor(() => run.demo.exitCode !== null || requests.length > 0, 60_000, 'the order webhook at the receiver');
    } finally {
      if (run.demo.exitCode === null) process.kill(-run.demo.pid!, 'SIGINT');
      receiver.closeAllConnections();
      receiver.close();
    }
    expect(await run.exited, run.output).toBe(0);

    expect(run.output).toContain(`Webhooks   ${url}   (PGBRIDGE_WEBHOOK_URL)`);
    const printedSecret = /signed with (whsec_\S+) \(made up for this run/.exec(run.output)?.[1];
    expect(printedSecret).toBeDefined();
    const [request] = requests;
    const event = new Webhook(printedSecret!).verify(request!.body, request!.headers as Record<string, string>) as {
      id: string;
      table: string;
    };
    expect(event.table).toBe('orders');
    expect(request!.headers['webhook-id']).toBe(event.id);
    expect(run.output).not.toMatch(/webhook {2}POST/);
  }, 90_000);

  it('a PGBRIDGE_WEBHOOK_SECRET not in the Standard Webhooks form stops npm start at once with what to set, without echoing it', async () => {
    const run = startDemo({ PGBRIDGE_WEBHOOK_SECRET: 'my-shared-password' });
    expect(await run.exited, run.output).toBe(1);
    expect(run.output).toContain('pgbridge: PGBRIDGE_WEBHOOK_SECRET is not a Standard Webhooks secret');
    expect(run.output).toContain('Store "whsec_" followed by the base64 of 24 to 64 random bytes');
    expect(run.output).not.toContain('my-shared-password');
    expect(run.output).not.toContain('pgbridge is running.');
  }, 30_000);

  it('a PGBRIDGE_WEBHOOK_URL that is not an http(s) URL is refused with its value; a given secret is used as it is', () => {
    expect(() => demoWebhookFromEnvironment({ PGBRIDGE_WEBHOOK_URL: 'localhost:3000/webhook' })).toThrow(
      'PGBRIDGE_WEBHOOK_URL "localhost:3000/webhook" is not an http(s) URL: set it to your receiver, e.g. http://localhost:3000/webhook',
    );
    const secrets = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4'];
    expect(demoWebhookFromEnvironment({ PGBRIDGE_WEBHOOK_SECRET: secrets.join(' ') })).toEqual({
      url: undefined,
      secrets,
      generated: false,
    });
  });
});
