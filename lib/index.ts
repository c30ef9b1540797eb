/**
 * `pgbridge`: the watch configuration and the message format, shared by the CLI, the constructs
 * and consumers. The constructs are in `pgbridge/cdk`, the consumer handler API in
 * `pgbridge/consumer`.
 */
export {
  ACTIONS,
  parseBridgeConfig,
  parseConfig,
  type Action,
  type BridgeConfig,
  type PgBridgeConfig,
  type Watch,
  type WatchConfig,
} from './config/watch-config.ts';
export { ConfigError } from './errors.ts';
export { MESSAGE_ATTRIBUTES, type ChangeEvent } from './message/change-event.ts';
