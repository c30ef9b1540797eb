import { SNSClient } from '@aws-sdk/client-sns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One PublishBatch call as the server saw it. */
export interface ScriptedCall {
  ids: string[];
  groups: string[];
  headers: import('node:http').IncomingHttpHeaders;
  startedAt: number;
  answeredAt?: number;
}

/**
 * A real HTTP server speaking just enough SNS PublishBatch to script what AWS answers: which
 * entries it refuses (or, to test defensive reading, what XML it returns), and how long it
 * takes. It records every call with its entries and timing, and the most calls in flight.
 */
export class ScriptedSnsServer {
  readonly calls: ScriptedCall[] = [];
  maxInFlight = 0;
  delayMs = 0;
  /** Entry ids to refuse (SenderFault=false, retryable). */
  readonly refuse = new Set<string>();
  /** Overrides the answer entirely. */
  answerXml?: (ids: string[]) => string;
  /** Answers for the next calls, in order, before the scripted default applies again. */
  readonly nextAnswers: { status: number; body: string; headers?: Record<string, string> }[] = [];
  private inFlight = 0;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<ScriptedSnsServer> {
    let scripted: ScriptedSnsServer | undefined;
    const server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => void scripted!.answer(body, request.headers, response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    scripted = new ScriptedSnsServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return scripted;
  }

  client(maxAttempts = 1): SNSClient {
    return new SNSClient({
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts,
    });
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Back to a fresh script between tests. */
  reset(): void {
    this.calls.length = 0;
    this.nextAnswers.length = 0;
    this.refuse.clear();
    this.answerXml = undefined;
    this.delayMs = 0;
    this.maxInFlight = 0;
    this.inFlight = 0;
  }

  private async answer(
    body: string,
    headers: import('node:http').IncomingHttpHeaders,
    response: import('node:http').ServerResponse,
  ): Promise<void> {
    const form = new URLSearchParams(body);
    const ids: string[] = [];
    const groups: string[] = [];
    for (let index = 1; form.has(`PublishBatchRequestEntries.member.${index}.Id`); index++) {
      ids.push(form.get(`PublishBatchRequestEntries.member.${index}.Id`)!);
      groups.push(form.get(`PublishBatchRequestEntries.member.${index}.MessageGroupId`) ?? '');
    }
    const call: ScriptedCall = { ids, groups, headers, startedAt: performance.now() };
    this.calls.push(call);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.inFlight--;
    call.answeredAt = performance.now();
    const scripted = this.nextAnswers.shift();
    if (scripted) {
      response.writeHead(scripted.status, { 'content-type': 'text/xml', ...scripted.headers });
      response.end(scripted.body);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end(this.answerXml ? this.answerXml(ids) : this.defaultAnswer(ids));
  }

  private defaultAnswer(ids: string[]): string {
    const successful = ids
      .filter((id) => !this.refuse.has(id))
      .map((id) => `<member><Id>${id}</Id><MessageId>m-${id}</MessageId></member>`);
    const failed = ids
      .filter((id) => this.refuse.has(id))
      .map((id) => `<member><Id>${id}</Id><Code>InternalError</Code><Message>try later</Message><SenderFault>false</SenderFault></member>`);
    return `<PublishBatchResponse><PublishBatchResult><Successful>${successful.join('')}</Successful><Failed>${failed.join('')}</Failed></PublishBatchResult></PublishBatchResponse>`;
  }
}
