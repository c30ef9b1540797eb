import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSes } from '../../lib/local/local-ses.ts';
import { startLocalSnsSqs } from '../../lib/local/local-sns-sqs.ts';
import { startOnPreferredPort } from '../../lib/local/preferred-port.ts';
import { WebhookReceiver } from '../../lib/local/webhook-receiver.ts';

// The demo's services on a port another process holds (as a second `npm start` would), bound
// on all addresses as fauxqs binds its own.
describe('a local service whose usual port is taken', () => {
  let holder: Server;
  let held = 0;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    held = (holder.address() as { port: number }).port;
  });
  afterAll(() => holder.close());

  it('the SNS/SQS emulator starts on another port and answers there', async () => {
    const emulator = await startOnPreferredPort(held, startLocalSnsSqs);
    try {
      expect(emulator.port).not.toBe(held);
      expect(emulator.endpoint).toBe(`http://127.0.0.1:${emulator.port}`);
      expect((await fetch(`${emulator.endpoint}/?Action=ListQueues`)).status).toBeLessThan(500);
    } finally {
      await emulator.stop();
    }
  });

  it('the SES emulator starts on another port (aws-ses-v2-local reports a failed bind as success: it is caught)', async () => {
    await expect(startLocalSes(held)).rejects.toThrow(`the SES emulator could not listen on 127.0.0.1:${held}: the port is taken`);
    const ses = await startOnPreferredPort(held, startLocalSes);
    try {
      expect(ses.endpoint).not.toBe(`http://127.0.0.1:${held}`);
      expect((await fetch(new URL('/store', ses.endpoint))).status).toBe(200);
    } finally {
      await ses.stop();
    }
  });

  it('the webhook receiver starts on another port', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    await expect(new WebhookReceiver({ secret, port: held }).start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const receiver = await startOnPreferredPort(held, (port) => new WebhookReceiver({ secret, port }).start());
    try {
      expect(receiver.url).not.toContain(`:${held}/`);
      expect((await fetch(receiver.url, { method: 'POST', body: '{}' })).status).toBe(401);
    } finally {
      await receiver.stop();
    }
  });

  it('any other failure to start is not hidden by a second attempt', async () => {
    let attempts = 0;
    const failure = startOnPreferredPort(held, async () => {
      attempts++;
      throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
    });
    await expect(failure).rejects.toThrow('permission denied');
    expect(attempts).toBe(1);
  });
});
