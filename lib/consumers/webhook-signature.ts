import { Webhook } from 'standardwebhooks';
import { parseWebhookSecrets } from './webhook-secret.ts';

/** The Standard Webhooks headers: the event id (the same on every retry), the time of this attempt, its signatures. */
export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

export interface WebhookSignatureHeaders {
  [WEBHOOK_ID_HEADER]: string;
  [WEBHOOK_TIMESTAMP_HEADER]: string;
  [WEBHOOK_SIGNATURE_HEADER]: string;
}

/** Signs deliveries with every secret of a secret value (several during a rotation). */
export class WebhookSigner {
  private readonly webhooks: Webhook[];

  /** Throws a WebhookSecretError naming `source` when the value holds no usable secret. */
  constructor(secretValue: string, source: string) {
    this.webhooks = parseWebhookSecrets(secretValue, source).map((secret) => new Webhook(secret));
  }

  /**
   * The headers of one attempt. The timestamp is the attempt's own (a retry is signed afresh), so
   * receivers can refuse a captured request replayed later; the id is signed too, so it cannot
   * be swapped to slip past their deduplication.
   */
  sign(id: string, body: string, at = new Date()): WebhookSignatureHeaders {
    return {
      [WEBHOOK_ID_HEADER]: id,
      [WEBHOOK_TIMESTAMP_HEADER]: String(Math.floor(at.getTime() / 1000)),
      [WEBHOOK_SIGNATURE_HEADER]: this.webhooks.map((webhook) => webhook.sign(id, at, body)).join(' '),
    };
  }
}
