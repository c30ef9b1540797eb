/** Lambda entry point of `bridge.addWebhookConsumer(...)`; configured through its environment. */
import { createWebhookConsumer, webhookSettingsFromEnvironment } from '../../lib/consumers/webhook-consumer.ts';

export const handler = createWebhookConsumer(webhookSettingsFromEnvironment());
