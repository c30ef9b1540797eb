import type pg from 'pg';
import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';
import { isSecretVariable, validate } from '../../lib/validation-problems.ts';
import type { ListenerOptions } from './listener.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Environment of the listener process, checked once at start. */
const settingsSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  PGBRIDGE_TOPIC_ARN: z.string().min(1).optional(),
  PGBRIDGE_QUEUE_URL: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_ENDPOINT_URL: z.string().url().optional(),
  PGBRIDGE_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PGBRIDGE_BATCH_SIZE: positiveInt(500),
  PGBRIDGE_MAX_IN_FLIGHT: positiveInt(16),
  PGBRIDGE_DRAIN_CONNECTIONS: z.coerce.number().int().min(1).max(8).default(2),
  PGBRIDGE_POLL_INTERVAL_MS: positiveInt(1000),
  PGBRIDGE_LEADER_RETRY_MS: positiveInt(1000),
  PGBRIDGE_MAX_BACKOFF_MS: positiveInt(30_000),
  PGBRIDGE_RETRY_BASE_MS: positiveInt(200),
  PGBRIDGE_PARK_AFTER_REJECTIONS: positiveInt(3),
  PGBRIDGE_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).optional(),
  PGBRIDGE_WATCH_CHECK_INTERVAL_MS: positiveInt(60_000),
  PGBRIDGE_METRICS_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  PGBRIDGE_NAME: z.string().min(1).default('pgbridge'),
  PGBRIDGE_SNS_CLIENT: z.enum(['query', 'sdk']).default('query'),
  // S3's bucket naming rules, so a typo fails at start instead of on the first large row.
  PGBRIDGE_PAYLOAD_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      error: (issue) => `"${String(issue.input)}" is not an S3 bucket name (3-63 characters: a-z, 0-9, dots and hyphens)`,
    })
    .optional(),
  PGBRIDGE_INSTALL_RETRY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  PGBRIDGE_NO_INSTALL: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
});

export type ListenerSettings = z.output<typeof settingsSchema>;

export function readListenerSettings(env: NodeJS.ProcessEnv = process.env): ListenerSettings {
  const result = validate(settingsSchema, env, { conceal: isSecretVariable });
  if (!result.ok) throw new ConfigError(`invalid listener environment:\n  - ${result.problems.join('\n  - ')}`);
  return result.data;
}

/** Everything the Listener takes from the environment except the sink, watches and logger. */
export function listenerOptionsFrom(settings: ListenerSettings): Omit<ListenerOptions, 'sink' | 'watches' | 'log'> {
  return {
    connection: databaseConnection(settings),
    batchSize: settings.PGBRIDGE_BATCH_SIZE,
    maxInFlight: settings.PGBRIDGE_MAX_IN_FLIGHT,
    drainConnections: settings.PGBRIDGE_DRAIN_CONNECTIONS,
    parkAfterRejections: settings.PGBRIDGE_PARK_AFTER_REJECTIONS,
    pollIntervalMs: settings.PGBRIDGE_POLL_INTERVAL_MS,
    leaderRetryMs: settings.PGBRIDGE_LEADER_RETRY_MS,
    maxBackoffMs: settings.PGBRIDGE_MAX_BACKOFF_MS,
    retryBaseMs: settings.PGBRIDGE_RETRY_BASE_MS,
    watchCheckIntervalMs: settings.PGBRIDGE_WATCH_CHECK_INTERVAL_MS,
    metricsIntervalMs: settings.PGBRIDGE_METRICS_INTERVAL_MS,
    bridgeName: settings.PGBRIDGE_NAME,
    retryInstall: settings.PGBRIDGE_INSTALL_RETRY,
  };
}

// Without DATABASE_URL, node-postgres reads PGHOST, PGUSER, PGPASSWORD, ... (how ECS injects the
// fields of a Secrets Manager secret).
function databaseConnection(settings: ListenerSettings): pg.ClientConfig {
  return settings.DATABASE_URL ? { connectionString: settings.DATABASE_URL } : {};
}
