import { Command, InvalidArgumentError, Option } from 'commander';
import { durationSeconds, positiveInteger } from '../../bin/cli/options.ts';

/** What one `npm run soak` does; every option also reads a SOAK_* variable. */
export interface SoakSettings {
  /** Offered load of the paced writers, single-row inserts per second. */
  eventsPerSecond: number;
  /** Connections the paced writers spread the inserts over. */
  writers: number;
  /** One report line and one row per interval. */
  intervalSeconds: number;
  /** Sustained mode: how long the writers run with the listener draining. */
  seconds: number;
  /** Outage mode (instead of the sustained run): the listener is killed for `outageSeconds`. */
  outage?: OutageSettings;
}

export interface OutageSettings {
  /** Writers with the listener draining, before it is killed: the "before" rate. */
  beforeSeconds: number;
  outageSeconds: number;
  /** Gives up waiting for the catch-up after this long: a listener that cannot catch up is a result too. */
  catchUpTimeoutSeconds: number;
}

const DEFAULTS = { rate: 2000, writers: 8, duration: '15m', interval: '1m', before: '2m', catchUpTimeout: '30m' };

/**
 * `npm run soak [-- --duration 15m --rate 2000]` or `npm run soak -- --outage 30m --rate 500`.
 * Throws a CommanderError naming the bad option or variable and its value.
 */
export function readSoakSettings(argv: string[]): SoakSettings {
  const program = new Command('npm run soak --')
    .description('sustained load through the real listener: outbox size, dead tuples, autovacuum and drain delay over time')
    .exitOverride()
    .showHelpAfterError()
    .addOption(new Option('--rate <events/s>', 'offered load, single-row inserts per second').env('SOAK_RATE').argParser(positiveInteger))
    .addOption(new Option('--writers <count>', 'writer connections').env('SOAK_WRITERS').argParser(positiveInteger))
    .addOption(
      new Option('--duration <time>', 'sustained mode: how long to write (e.g. 15m)').env('SOAK_DURATION').argParser(durationSeconds),
    )
    .addOption(new Option('--interval <time>', 'one report row per interval (e.g. 1m)').env('SOAK_INTERVAL').argParser(durationSeconds))
    .addOption(
      new Option('--outage <time>', 'outage mode: kill the listener (SIGKILL) for this long, then start it again')
        .env('SOAK_OUTAGE')
        .argParser(durationSeconds),
    )
    .addOption(new Option('--before <time>', 'outage mode: draining time before the kill').env('SOAK_BEFORE').argParser(durationSeconds))
    .addOption(
      new Option('--catch-up-timeout <time>', 'outage mode: stop waiting for the catch-up after this long')
        .env('SOAK_CATCH_UP_TIMEOUT')
        .argParser(durationSeconds),
    );
  program.parse(argv, { from: 'user' });
  const options = program.opts<{
    rate?: number;
    writers?: number;
    duration?: number;
    interval?: number;
    outage?: number;
    before?: number;
    catchUpTimeout?: number;
  }>();
  const fail = (message: string): never => {
    program.error(`error: ${message}`, { exitCode: 2, code: 'soak.invalidSettings' });
    throw new InvalidArgumentError(message);
  };
  if (options.outage !== undefined && options.duration !== undefined)
    fail('--duration (SOAK_DURATION) is the sustained mode and --outage (SOAK_OUTAGE) the outage mode: give one of them');
  if (options.outage === undefined && (options.before !== undefined || options.catchUpTimeout !== undefined))
    fail('--before and --catch-up-timeout belong to the outage mode: add --outage <time>');
  const settings: SoakSettings = {
    eventsPerSecond: options.rate ?? DEFAULTS.rate,
    writers: options.writers ?? DEFAULTS.writers,
    intervalSeconds: options.interval ?? durationSeconds(DEFAULTS.interval),
    seconds: options.duration ?? durationSeconds(DEFAULTS.duration),
  };
  if (options.outage !== undefined) {
    settings.outage = {
      beforeSeconds: options.before ?? durationSeconds(DEFAULTS.before),
      outageSeconds: options.outage,
      catchUpTimeoutSeconds: options.catchUpTimeout ?? durationSeconds(DEFAULTS.catchUpTimeout),
    };
  }
  const shortest = settings.outage ? Math.min(settings.outage.beforeSeconds, settings.outage.outageSeconds) : settings.seconds / 3;
  if (settings.intervalSeconds > shortest)
    fail(
      `--interval ${settings.intervalSeconds}s is longer than ${settings.outage ? 'the --before or --outage phase' : 'a third of --duration'} (${Number(shortest.toFixed(1))}s): ` +
        'the verdict needs several rows per phase; shorten --interval',
    );
  return settings;
}
