import { generateWebhookSecret, parseWebhookSecrets } from '../consumers/webhook-secret.ts';

/** Where `npm start` sends the order webhook, and the secrets it signs with. */
export interface DemoWebhook {
  /** The user's receiver; undefined: the demo's own local receiver. */
  url?: string;
  /** One secret, or several during a rotation (every delivery is signed with each). */
  secrets: string[];
  /** The secret was made up for this run (print it, so a receiver can be given it). */
  generated: boolean;
}

/**
 * `PGBRIDGE_WEBHOOK_URL` sends the demo's webhook to any receiver (e.g. one being developed),
 * `PGBRIDGE_WEBHOOK_SECRET` is what it is signed with; without it a fresh secret per run.
 */
export function demoWebhookFromEnvironment(env: NodeJS.ProcessEnv): DemoWebhook {
  const url = env.PGBRIDGE_WEBHOOK_URL || undefined;
  if (url !== undefined && !isHttpUrl(url)) {
    throw new Error(
      `PGBRIDGE_WEBHOOK_URL "${url}" is not an http(s) URL: set it to your receiver, e.g. http://localhost:3000/webhook, or unset it to use the demo's receiver`,
    );
  }
  const value = env.PGBRIDGE_WEBHOOK_SECRET;
  if (value === undefined || value === '') return { url, secrets: [generateWebhookSecret()], generated: true };
  return { url, secrets: parseWebhookSecrets(value, 'PGBRIDGE_WEBHOOK_SECRET'), generated: false };
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
