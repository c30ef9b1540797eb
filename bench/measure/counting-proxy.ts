import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';

/** What went through the proxy since the last reset. */
export interface SnsRequestCounts {
  /** PublishBatch calls, as SNS would bill and throttle them (retries included). */
  publishBatchRequests: number;
  /** Entries in those calls. */
  publishedEntries: number;
  /** Single-message Publish calls. */
  publishRequests: number;
}

// Query protocol (pgbridge's own client: Action=PublishBatch in a form body) or JSON protocol
// (X-Amz-Target: AmazonSNS.PublishBatch, as newer AWS SDKs may send).
const ENTRY_ID = /PublishBatchRequestEntries\.member\.\d+\.Id=/g;

/**
 * An HTTP relay in front of the SNS/SQS endpoint that counts the SNS publish calls passing
 * through it: the listener is pointed at the proxy, so the counts are what it really sent.
 */
export class CountingProxy {
  private server?: Server;
  private readonly upstream = new Agent({ keepAlive: true });
  port = 0;
  counts: SnsRequestCounts = emptyCounts();

  constructor(private readonly target: URL) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  reset(): void {
    this.counts = emptyCounts();
  }

  async start(): Promise<void> {
    this.server = createServer((incoming, outgoing) => {
      void readBody(incoming).then((body) => {
        this.count(incoming, body);
        const forwarded = request(
          {
            host: this.target.hostname,
            port: this.target.port,
            method: incoming.method,
            path: incoming.url,
            headers: incoming.headers,
            agent: this.upstream,
          },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
          },
        );
        forwarded.on('error', (error) => {
          outgoing.writeHead(502, { 'content-type': 'text/plain' });
          outgoing.end(`counting proxy: ${error.message}`);
        });
        forwarded.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.upstream.destroy();
  }

  private count(incoming: IncomingMessage, body: Buffer): void {
    const target = String(incoming.headers['x-amz-target'] ?? '');
    if (target === 'AmazonSNS.PublishBatch') {
      this.counts.publishBatchRequests++;
      this.counts.publishedEntries +=
        (JSON.parse(body.toString('utf8')) as { PublishBatchRequestEntries?: unknown[] }).PublishBatchRequestEntries?.length ?? 0;
      return;
    }
    if (target === 'AmazonSNS.Publish') {
      this.counts.publishRequests++;
      return;
    }
    if (target !== '') return;
    const text = body.toString('utf8');
    const action = new URLSearchParams(text).get('Action');
    if (action === 'PublishBatch') {
      this.counts.publishBatchRequests++;
      this.counts.publishedEntries += text.match(ENTRY_ID)?.length ?? 0;
    } else if (action === 'Publish') {
      this.counts.publishRequests++;
    }
  }
}

function emptyCounts(): SnsRequestCounts {
  return { publishBatchRequests: 0, publishedEntries: 0, publishRequests: 0 };
}

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
