import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';

export type SignatureCheck = { valid: true } | { valid: false; reason: string };

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as signed. */
  body: string;
  signature: SignatureCheck;
}

export interface WebhookReply {
  status: number;
  /** Answer this much later (to provoke timeouts). */
  delayMs?: number;
}

export interface WebhookReceiverOptions {
  /** Signatures are checked with it: a Standard Webhooks secret ("whsec_" + base64 key). */
  secret: string;
  /** @default 0 (a free port) */
  port?: number;
  /** How to answer each request. @default 204, or 401 when the signature does not verify */
  reply?: (request: ReceivedWebhook) => WebhookReply;
}

/**
 * A webhook receiver on 127.0.0.1 that checks the Standard Webhooks signature the way a real
 * receiver should (the raw body, with the `standardwebhooks` library: constant-time compare,
 * 5-minute timestamp tolerance) and records every request.
 */
export class WebhookReceiver extends EventEmitter<{ webhook: [ReceivedWebhook] }> {
  readonly received: ReceivedWebhook[] = [];
  private readonly server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = this.verify(body, request.headers);
      const webhook: ReceivedWebhook = { headers: request.headers, body, signature };
      this.received.push(webhook);
      this.emit('webhook', webhook);
      const reply = this.options.reply?.(webhook) ?? { status: signature.valid ? 204 : 401 };
      setTimeout(() => response.writeHead(reply.status).end(), reply.delayMs ?? 0);
    });
  });

  private readonly webhook: Webhook;

  constructor(private readonly options: WebhookReceiverOptions) {
    super();
    this.webhook = new Webhook(options.secret);
  }

  private verify(body: string, headers: IncomingHttpHeaders): SignatureCheck {
    const single = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]),
    );
    try {
      this.webhook.verify(body, single, { jsonParse: false });
      return { valid: true };
    } catch (error) {
      return { valid: false, reason: (error as Error).message };
    }
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/webhook`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
