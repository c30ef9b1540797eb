import { randomBytes } from 'node:crypto';

/**
 * Standard Webhooks symmetric secrets: "whsec_" followed by the base64 of 24 to 64 random bytes
 * (https://www.standardwebhooks.com). The bare base64 form is accepted too, because it is the
 * same key to every Standard Webhooks library and the only form Secrets Manager can generate.
 */
export const SECRET_PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A signing secret that cannot be used. The message describes its shape, never its value. */
export class WebhookSecretError extends Error {
  override name = 'WebhookSecretError';
}

const GENERATE_SECRET_HINT = `node -e "console.log('whsec_' + require('crypto').randomBytes(32).toString('base64'))"`;

/**
 * The secrets in a secret value: one, or several separated by whitespace while a secret is being
 * rotated (each delivery is then signed with every one, and the receiver accepts any). `source`
 * names where the value came from, for the error.
 */
export function parseWebhookSecrets(value: string, source: string): string[] {
  const secrets = value.split(/\s+/).filter(Boolean);
  if (secrets.length === 0) throw new WebhookSecretError(`${source} is empty. ${whatToStore()}`);
  secrets.forEach((secret, index) => {
    const problem = shapeProblem(secret);
    if (problem) {
      const which = secrets.length > 1 ? `secret ${index + 1} of ${secrets.length} in ${source}` : source;
      throw new WebhookSecretError(`${which} is not a Standard Webhooks secret: ${problem}. ${whatToStore()}`);
    }
  });
  return secrets;
}

/** A new secret in the "whsec_" form, with a 32-byte key. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

function shapeProblem(secret: string): string | undefined {
  if (/^wh(sk|pk)_/.test(secret)) return 'it is an asymmetric (ed25519) key, and pgbridge signs with HMAC-SHA256 ("v1") only';
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!BASE64.test(encoded))
    return `${secret.startsWith(SECRET_PREFIX) ? `what follows "${SECRET_PREFIX}"` : `it (${secret.length} characters)`} is not base64`;
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) return `its key is ${bytes} bytes, not ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES}`;
  return undefined;
}

function whatToStore(): string {
  return `Store "${SECRET_PREFIX}" followed by the base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes, e.g. the output of ${GENERATE_SECRET_HINT}; during a rotation, the new and the old secret separated by a space.`;
}
