import { createServer, request, type IncomingMessage, type Server } from 'node:http';

export interface FaultRates {
  /** Share of SendMessageBatch calls answered with a throttling error as a whole. */
  throttleCall: number;
  /** Share of entries, in the calls that go through, reported as failed (and not delivered). */
  failEntry: number;
  /** FIFO message groups whose entries always fail (a row stuck behind a failing event). */
  failGroups?: string[];
}

/**
 * An HTTP proxy in front of an SQS endpoint (JSON protocol) that injects AWS-shaped failures
 * into SendMessageBatch: whole calls throttled, and partial batch failures where some entries
 * are withheld from the queue and reported in `Failed` with SenderFault=false, as AWS does
 * under throttling. It counts how often each entry id was accepted.
 */
export class FaultySqsProxy {
  private server?: Server;
  port = 0;
  readonly accepted = new Map<string, number>();
  /** Per FIFO message group, the entry ids in the order the queue accepted them. */
  readonly acceptedByGroup = new Map<string, string[]>();
  injectedCallFailures = 0;
  injectedEntryFailures = 0;

  constructor(
    private readonly targetPort: number,
    public rates: FaultRates,
  ) {}

  /**
   * The SQS client sends each request to the host named in the queue URL, so the listener is
   * given the queue URL with the proxy's port; the emulator only knows its own URL.
   */
  proxiedQueueUrl(queueUrl: string): string {
    return queueUrl.replace(`:${this.targetPort}/`, `:${this.port}/`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((incoming, outgoing) => {
      void this.handle(incoming, outgoing.writeHead.bind(outgoing), outgoing.end.bind(outgoing));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(
    incoming: IncomingMessage,
    writeHead: (status: number, headers: Record<string, string>) => unknown,
    end: (body: string) => unknown,
  ): Promise<void> {
    const body = (await readBody(incoming)).replaceAll(`:${this.port}/`, `:${this.targetPort}/`);
    const target = String(incoming.headers['x-amz-target'] ?? '');
    const headers = Object.fromEntries(
      Object.entries(incoming.headers)
        .filter(([name]) => name !== 'content-length' && name !== 'host')
        .map(([name, value]) => [name, String(value)]),
    );
    if (target !== 'AmazonSQS.SendMessageBatch') {
      const response = await this.forward(incoming.url!, incoming.method!, headers, body);
      writeHead(response.status, { 'content-type': response.contentType });
      end(response.body);
      return;
    }
    if (Math.random() < this.rates.throttleCall) {
      this.injectedCallFailures++;
      writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'ThrottlingException;Sender' });
      end(JSON.stringify({ __type: 'com.amazonaws.sqs#ThrottlingException', message: 'Rate exceeded' }));
      return;
    }
    const batch = JSON.parse(body) as { Entries: { Id: string; MessageGroupId?: string }[] };
    const withheld = batch.Entries.filter(
      (entry) =>
        Math.random() < this.rates.failEntry ||
        (entry.MessageGroupId !== undefined && this.rates.failGroups?.includes(entry.MessageGroupId)),
    );
    this.injectedEntryFailures += withheld.length;
    const sent = batch.Entries.filter((entry) => !withheld.includes(entry));
    let result: { Successful: { Id: string }[]; Failed: object[] } = { Successful: [], Failed: [] };
    if (sent.length > 0) {
      const response = await this.forward(incoming.url!, 'POST', headers, JSON.stringify({ ...batch, Entries: sent }));
      if (response.status !== 200) {
        writeHead(response.status, { 'content-type': response.contentType });
        end(response.body);
        return;
      }
      result = JSON.parse(response.body);
      result.Successful ??= [];
      result.Failed ??= [];
    }
    for (const entry of result.Successful) {
      this.accepted.set(entry.Id, (this.accepted.get(entry.Id) ?? 0) + 1);
      const group = sent.find((candidate) => candidate.Id === entry.Id)?.MessageGroupId;
      if (group) this.acceptedByGroup.set(group, [...(this.acceptedByGroup.get(group) ?? []), entry.Id]);
    }
    for (const entry of withheld) {
      result.Failed.push({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'injected partial batch failure' });
    }
    writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    end(JSON.stringify(result));
  }

  private forward(path: string, method: string, headers: Record<string, string>, body: string) {
    return new Promise<{ status: number; contentType: string; body: string }>((resolve, reject) => {
      const upstream = request(
        {
          host: '127.0.0.1',
          port: this.targetPort,
          path,
          method,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        async (response) => {
          resolve({
            status: response.statusCode ?? 500,
            contentType: String(response.headers['content-type'] ?? 'application/json'),
            body: await readBody(response),
          });
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function readBody(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}
