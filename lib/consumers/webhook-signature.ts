import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'pgbridge-signature';
/** Header carrying the change event id: the same id on every retry, for idempotent receivers. */
export const EVENT_ID_HEADER = 'pgbridge-event-id';

/**
 * Signs a webhook body the way Stripe-style receivers expect. The timestamp is inside the signed
 * text so that a captured request cannot be replayed later with a fresh timestamp.
 */
export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

export type SignatureCheck = { valid: true; timestamp: number } | { valid: false; reason: string };

/**
 * How a receiver verifies a request: take the raw request body (before any JSON parsing), the
 * `pgbridge-signature` header and the shared secret; recompute the HMAC over `${t}.${body}`;
 * compare in constant time; reject timestamps older than the tolerance (replays).
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  { toleranceSeconds = 300, now = Date.now() }: { toleranceSeconds?: number; now?: number } = {},
): SignatureCheck {
  if (!header) return { valid: false, reason: `missing ${SIGNATURE_HEADER} header` };
  const fields = new Map(header.split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const timestamp = Number(fields.get('t'));
  const signature = fields.get('v1');
  if (!Number.isInteger(timestamp) || !signature) return { valid: false, reason: 'malformed signature header' };
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return { valid: false, reason: 'timestamp outside tolerance (replayed?)' };
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { valid: false, reason: 'signature mismatch' };
  return { valid: true, timestamp };
}

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
