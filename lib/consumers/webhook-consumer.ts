import { z } from 'zod';
import { deliverWebhook } from './webhook-delivery.ts';
import { WebhookSigner } from './webhook-signature.ts';
import { jsonVariable, readEnvironment } from './consumer-environment.ts';
import { cachedSecret } from './cached-secret.ts';
import { handleChanges, type HandleChangesOptions, type SqsBatchHandler } from './handle-changes.ts';
import { PermanentFailure } from './permanent-failure.ts';

export interface WebhookConsumerSettings {
  url: string;
  /**
   * Returns the signing secret value: a Standard Webhooks secret ("whsec_" + base64 key), or
   * several separated by spaces during a rotation. The Lambda reads it from Secrets Manager.
   */
  secret: () => Promise<string>;
  /** Where the secret comes from, named in the error when it is not usable. @default 'the webhook secret' */
  secretSource?: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  allowPrivateTargets?: boolean;
}

/**
 * POSTs each change event (the message body as published) to the webhook. 2xx: done. 408, 429,
 * 5xx, timeouts: a batch item failure, retried after the visibility timeout. Other answers: a
 * PermanentFailure, so the event goes to the dead-letter queue at once.
 */
export function createWebhookConsumer(settings: WebhookConsumerSettings, options: HandleChangesOptions = {}): SqsBatchHandler {
  const signer = signerOfCurrentSecret(settings);
  return handleChanges(async (event, record) => {
    const outcome = await deliverWebhook(
      {
        url: settings.url,
        signer: await signer(),
        timeoutMs: settings.timeoutMs,
        headers: settings.headers,
        allowPrivateTargets: settings.allowPrivateTargets,
      },
      event.id,
      record.body,
    );
    if (outcome.result === 'reject') throw new PermanentFailure(`webhook refused event ${event.id}: ${outcome.reason}`);
    if (outcome.result === 'retry') throw new Error(`webhook did not accept event ${event.id}: ${outcome.reason}`);
  }, options);
}

/**
 * A signer for the secret's current value, rebuilt only when the value changes (a rotation).
 * An unusable secret fails every record with the reason, so they are retried and, if it is not
 * fixed in time, land in the dead-letter queue to be redriven: no event is sent unsigned or lost.
 */
function signerOfCurrentSecret(settings: WebhookConsumerSettings): () => Promise<WebhookSigner> {
  let current: { value: string; signer: WebhookSigner } | undefined;
  return async () => {
    const value = await settings.secret();
    if (current?.value !== value) current = { value, signer: new WebhookSigner(value, settings.secretSource ?? 'the webhook secret') };
    return current.signer;
  };
}

const environmentSchema = z.object({
  PGBRIDGE_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'PGBRIDGE_WEBHOOK_URL must be an http(s) URL' }),
  PGBRIDGE_WEBHOOK_SECRET_ARN: z
    .string({ error: 'PGBRIDGE_WEBHOOK_SECRET_ARN is required' })
    .min(1, 'PGBRIDGE_WEBHOOK_SECRET_ARN is required'),
  PGBRIDGE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  PGBRIDGE_WEBHOOK_HEADERS: jsonVariable(z.record(z.string(), z.string())).default({}),
  PGBRIDGE_WEBHOOK_ALLOW_PRIVATE_TARGETS: z.enum(['true', 'false']).default('false'),
});

/** The settings the CDK WebhookConsumer puts in the function's environment. */
export function webhookSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): WebhookConsumerSettings {
  const settings = readEnvironment(environmentSchema, env, 'webhook');
  return {
    url: settings.PGBRIDGE_WEBHOOK_URL,
    secret: cachedSecret(settings.PGBRIDGE_WEBHOOK_SECRET_ARN),
    secretSource: `Secrets Manager secret ${settings.PGBRIDGE_WEBHOOK_SECRET_ARN}`,
    timeoutMs: settings.PGBRIDGE_WEBHOOK_TIMEOUT_MS,
    headers: settings.PGBRIDGE_WEBHOOK_HEADERS,
    allowPrivateTargets: settings.PGBRIDGE_WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true',
  };
}
