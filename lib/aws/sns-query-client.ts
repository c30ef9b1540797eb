import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { queryErrorFrom } from './query-protocol.ts';

/** Where SNS calls go and how they are signed, exactly as the SDK client would do it. */
interface ResolvedTarget {
  request: Pick<HttpRequest, 'protocol' | 'hostname' | 'port' | 'path'>;
  host: string;
  signer: SignatureV4;
}

/** SigV4 refuses requests whose clock is more than 5 minutes off; AWS answers with its own `Date`. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

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
  private clockOffsetMs = 0;

  constructor(private readonly client: SNSClient) {}

  /** POSTs `form` (with `Action` and `Version`); the XML of a 2xx answer, else an AwsQueryError. */
  async call(form: string): Promise<string> {
    const target = await this.resolveTarget();
    const unsigned = {
      ...target.request,
      method: 'POST',
      query: {},
      headers: { host: target.host, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(form)) },
      body: form,
    } as HttpRequest;
    const signed = await target.signer.sign(unsigned, { signingDate: new Date(Date.now() + this.clockOffsetMs) });
    const { response } = await this.client.config.requestHandler.handle(signed as never);
    const text = await readBody(response.body as NodeJS.ReadableStream);
    if (response.statusCode >= 200 && response.statusCode < 300) return text;
    this.adjustClock(response.headers.date ?? response.headers.Date);
    throw queryErrorFrom(response.statusCode, text);
  }

  private resolveTarget(): Promise<ResolvedTarget> {
    this.target ??= this.resolveThroughSdk().catch((error: unknown) => {
      this.target = undefined;
      throw error;
    });
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
      request: { protocol: request.protocol, hostname: request.hostname, port: request.port, path: request.path },
      host: request.headers.host ?? request.hostname,
      signer: new SignatureV4({ credentials: () => config.credentials(), region: scope[1]!, service: scope[2]!, sha256: config.sha256, uriEscapePath: true }),
    };
  }

  private adjustClock(serverDate: string | undefined): void {
    const serverTime = serverDate ? Date.parse(serverDate) : NaN;
    if (Number.isNaN(serverTime)) return;
    const offset = serverTime - Date.now();
    if (Math.abs(offset - this.clockOffsetMs) > MAX_CLOCK_SKEW_MS) this.clockOffsetMs = offset;
  }
}

async function readBody(body: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  body.setEncoding('utf8');
  for await (const chunk of body) text += chunk as string;
  return text;
}
