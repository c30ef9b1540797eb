import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

// An independent check of AWS Signature Version 4 as AWS documents it (canonical request,
// string to sign, derived key), written from the spec rather than with the SDK's signer, so a
// test can show that a request would pass AWS's own check. Enough for POST requests to `/`
// without a query string, which is what the Query protocol sends.

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export interface SignatureCheck {
  valid: boolean;
  accessKeyId: string;
  region: string;
  service: string;
  signedHeaders: string[];
  amzDate: string;
}

export function verifySigV4(
  request: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer },
  secretAccessKey: string,
): SignatureCheck {
  const authorization = String(request.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) throw new Error(`not a SigV4 Authorization header: ${authorization}`);
  const [, accessKeyId, day, region, service, signedHeaderList, signature] = match as unknown as string[];
  const signedHeaders = signedHeaderList!.split(';');
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const canonicalHeaders = signedHeaders
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [request.method, request.path, '', canonicalHeaders, signedHeaderList, sha256Hex(request.body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    valid: expected === signature && amzDate.startsWith(day!),
    accessKeyId: accessKeyId!,
    region: region!,
    service: service!,
    signedHeaders,
    amzDate,
  };
}
