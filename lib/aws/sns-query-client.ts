import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { isRetryableEntryFailure } from '../sinks/sink.ts';
import { AwsQueryError, queryErrorFrom } from './query-protocol.ts';

/** Where SNS calls go and how they are signed, exactly as the SDK client would do it. */
interface ResolvedTarget {
  request: Pick<HttpRequest, 'protocol' | 'hostname' | 'port' | 'path' | 'query'>;
  host: string;
  signer: SignatureV4;
  maxAttempts: number;
}

// SigV4 refuses a request whose clock is 5 minutes off. AWS's `Date` has 1 s resolution and
// arrives after the network delay, so correct from a little less than that.
const CLOCK_CORRECTION_THRESHOLD_MS = 4 * 60_000;
/** The SDK's first retry waits a random 0-100 ms as well. */
const RETRY_JITTER_MS = 100;
const MAX_ANSWER_CHARS = 1024 * 1024;

// The SDK's retry layer re-wraps anything thrown below it into an Error, copying its fields:
// the signed request is recognised by this field name, not by its class.
const RESOLVED_REQUEST = 'pgbridgeResolvedRequest';

/**
 * Sends hand-built Query-protocol requests to SNS with the configuration of an SDK `SNSClient`:
 * its endpoint resolution (custom endpoint, `AWS_ENDPOINT_URL_SNS`, FIPS, partitions), its
 * credential chain (refreshed by the SDK), the SDK's SigV4 signer and its HTTP handler (keep-alive,
 * timeouts). Only the SDK's per-call middleware, serializer and XML parser are skipped.
 */
export class SnsQueryClient {
  private target?: Promise<ResolvedTarget>;
  private resolved?: ResolvedTarget;
  private clockOffsetMs = 0;
  /** Refusals of requests signed with a clock offset since corrected: worth another try. */
  private readonly signedWithOldClock = new WeakSet<object>();

  constructor(private readonly client: SNSClient) {}

  /**
   * POSTs `form` (with `Action` and `Version`); the XML of a 2xx answer, else an AwsQueryError
   * or the network error. Like the SDK, a call that failed for a passing reason (network, 5xx,
   * throttling, a clock just corrected) is tried again, up to the client's `maxAttempts`.
   */
  async call(form: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(form);
      } catch (error) {
        // Unresolved (the SDK failed before a request existed): one attempt, the next call tries again.
        const maxAttempts = this.resolved?.maxAttempts ?? 1;
        if (attempt >= maxAttempts || !this.worthRetrying(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_JITTER_MS));
      }
    }
  }

  private async attempt(form: string): Promise<string> {
    const target = await this.resolveTarget();
    const unsigned = {
      ...target.request,
      method: 'POST',
      headers: {
        host: target.host,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(Buffer.byteLength(form)),
      },
      body: form,
    } as HttpRequest;
    const offsetUsed = this.clockOffsetMs;
    const signed = await target.signer.sign(unsigned, { signingDate: new Date(Date.now() + offsetUsed) });
    const { response } = await this.client.config.requestHandler.handle(signed as never);
    const text = await readBody(response.body as NodeJS.ReadableStream, response.statusCode);
    if (response.statusCode >= 200 && response.statusCode < 300) return text;
    const error = queryErrorFrom(response.statusCode, text);
    this.correctClock(response.headers);
    // Calls in flight together all fail on a skewed clock; whichever answer corrected it, each
    // of them was signed with the old offset and deserves a retry.
    if (this.clockOffsetMs !== offsetUsed) this.signedWithOldClock.add(error);
    throw error;
  }

  private worthRetrying(error: unknown): boolean {
    if (!(error instanceof AwsQueryError)) return true;
    return (
      error.$fault === 'server' ||
      error.$metadata.httpStatusCode === 429 ||
      isRetryableEntryFailure(error.name, true) ||
      this.signedWithOldClock.has(error)
    );
  }

  private resolveTarget(): Promise<ResolvedTarget> {
    this.target ??= this.resolveThroughSdk().then(
      (target) => (this.resolved = target),
      (error: unknown) => {
        this.target = undefined;
        throw error;
      },
    );
    return this.target;
  }

  // Runs the SDK's own pipeline once, up to the signed request, and stops it there: the URL and
  // the signing scope are then whatever the SDK decides for this client, with no rules copied.
  private async resolveThroughSdk(): Promise<ResolvedTarget> {
    const command = new PublishBatchCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:resolve', PublishBatchRequestEntries: [] });
    command.middlewareStack.addRelativeTo(
      () => async (args: { request: unknown }) => {
        throw Object.assign(new Error('resolved'), { [RESOLVED_REQUEST]: args.request });
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'pgbridgeResolveTarget' },
    );
    let request: HttpRequest | undefined;
    try {
      await this.client.send(command);
    } catch (error) {
      request = (error as Record<string, HttpRequest | undefined>)[RESOLVED_REQUEST];
      if (!request) throw error;
    }
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(String(request?.headers.authorization ?? ''));
    if (!request || !scope) throw new Error('could not resolve the SNS endpoint and signing scope from the AWS SDK');
    const config = this.client.config;
    return {
      request: {
        protocol: request.protocol,
        hostname: request.hostname,
        port: request.port,
        path: request.path,
        query: request.query ?? {},
      },
      host: request.headers.host ?? request.hostname,
      signer: new SignatureV4({
        credentials: () => config.credentials(),
        region: scope[1]!,
        service: scope[2]!,
        sha256: config.sha256,
        uriEscapePath: true,
      }),
      maxAttempts: await config.maxAttempts(),
    };
  }

  /** When AWS's `Date` shows our clock off by enough to fail SigV4, later calls use AWS's time. */
  private correctClock(headers: Record<string, string | undefined>): void {
    // An answer replayed by a caching proxy (`Age`) carries an old date.
    if (headers.age !== undefined) return;
    const serverTime = headers.date ? Date.parse(headers.date) : NaN;
    if (Number.isNaN(serverTime)) return;
    const offset = serverTime - Date.now();
    if (Math.abs(offset - this.clockOffsetMs) >= CLOCK_CORRECTION_THRESHOLD_MS) this.clockOffsetMs = offset;
  }
}

async function readBody(body: NodeJS.ReadableStream, httpStatusCode: number): Promise<string> {
  let text = '';
  body.setEncoding('utf8');
  for await (const chunk of body) {
    text += chunk as string;
    // A PublishBatch answer is a few KiB; anything this large is not one (a misrouted endpoint).
    if (text.length > MAX_ANSWER_CHARS) {
      // A client fault: reading it again would not make it an SNS answer.
      throw new AwsQueryError(
        'AnswerTooLarge',
        `SNS answer larger than ${MAX_ANSWER_CHARS} characters: not an SNS endpoint?`,
        'client',
        httpStatusCode,
      );
    }
  }
  return text;
}
