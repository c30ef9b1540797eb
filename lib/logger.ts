import { pino, type Logger } from 'pino';
import { ConfigError } from './errors.ts';

export type { Logger };

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(requested: string | undefined): string {
  const level = requested ?? process.env.PGBRIDGE_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level)) throw new ConfigError(`PGBRIDGE_LOG_LEVEL: "${level}" is not a log level (${LEVELS.join(', ')})`);
  return level;
}

/**
 * One JSON object per line. Connection strings, passwords and secrets are redacted by pino wherever
 * they appear in a logged object, so a careless `log.info({ config })` cannot leak them.
 */
export function createLogger(name: string, options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name,
      level: logLevel(options.level),
      base: undefined,
      redact: {
        paths: [
          'password',
          '*.password',
          'connectionString',
          '*.connectionString',
          'databaseUrl',
          '*.databaseUrl',
          'secret',
          '*.secret',
          'headers.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    (options.destination ?? process.stdout) as pino.DestinationStream,
  );
}
