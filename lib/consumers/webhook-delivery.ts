import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WebhookSigner } from './webhook-signature.ts';
import { ForbiddenTargetError, assertLiteralHostAllowed, publicOnlyLookup } from './webhook-target.ts';

export interface WebhookTarget {
  url: string;
  /** Signs each attempt with the Standard Webhooks headers. */
  signer: WebhookSigner;
  timeoutMs: number;
  /** Extra static headers (e.g. an API key the receiver expects). */
  headers?: Record<string, string>;
  /** Send to private, loopback and link-local addresses too (tests, internal receivers). */
  allowPrivateTargets?: boolean;
}

/**
 * What to do with the event after one attempt. `retry`: the receiver may accept it later (408,
 * 429, 5xx, timeouts, network errors). `reject`: sending it again cannot help (other 4xx,
 * redirects, a forbidden target), so it goes to the dead-letter queue at once.
 */
export type DeliveryOutcome =
  | { result: 'delivered'; status: number }
  | { result: 'retry'; reason: string; status?: number }
  | { result: 'reject'; reason: string; status?: number };

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** POSTs one event body to the webhook, signed with its event id as `webhook-id`, and classifies the answer. */
export async function deliverWebhook(target: WebhookTarget, eventId: string, body: string): Promise<DeliveryOutcome> {
  const url = new URL(target.url);
  try {
    if (!target.allowPrivateTargets) assertLiteralHostAllowed(url.hostname);
    const status = await post(
      url,
      target,
      {
        ...target.headers,
        'content-type': 'application/json',
        'user-agent': 'pgbridge-webhook',
        ...target.signer.sign(eventId, body),
      },
      body,
    );
    if (status >= 200 && status < 300) return { result: 'delivered', status };
    if (status >= 500 || RETRYABLE_STATUS.has(status)) return { result: 'retry', status, reason: `receiver answered ${status}` };
    // Redirects are not followed: the new location has not been checked against private ranges.
    return { result: 'reject', status, reason: `receiver answered ${status}` };
  } catch (error) {
    if (error instanceof ForbiddenTargetError) return { result: 'reject', reason: error.message };
    return { result: 'retry', reason: (error as Error).message };
  }
}

function post(url: URL, target: WebhookTarget, headers: Record<string, string>, body: string): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        ...(target.allowPrivateTargets ? {} : { lookup: publicOnlyLookup }),
      },
      (response) => {
        // Drain the body so the socket is released; its content is not needed.
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    // One deadline for the whole exchange: a receiver that trickles bytes still times out.
    const timer = setTimeout(() => request.destroy(new Error(`timed out after ${target.timeoutMs} ms`)), target.timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', reject);
    request.end(body);
  });
}
