import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON object per line. Connection strings, passwords and secrets are redacted by pino wherever
 * they appear in a logged object, so a careless `log.info({ config })` cannot leak them.
 */
export function createLogger(name: string, options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name,
      level: options.level ?? process.env.PGBRIDGE_LOG_LEVEL ?? 'info',
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
