/** `pgbridge/cdk`: the constructs and their props. */
export { ChangeConsumer, type ChangeConsumerProps, type ConsumerOptions, type CustomConsumerOptions } from './change-consumer.ts';
export { EmailConsumer, type EmailConsumerOptions, type EmailConsumerProps } from './email-consumer.ts';
export { PgBridge, type PgBridgeDatabase, type PgBridgeProps } from './pg-bridge.ts';
export { WebhookConsumer, type WebhookConsumerOptions, type WebhookConsumerProps } from './webhook-consumer.ts';
export type { ChangeFilter, ConsumerFilter, RawFilterPolicy } from '../consumers/filter-policy.ts';
export type { WatchConfig } from '../config/watch-config.ts';
