import { InvalidArgumentError, Option } from 'commander';
import ms from 'ms';

/** `--config FILE`, shared by the commands that read the watches. */
export function configOption(): Option {
  return new Option('--config <file>', 'the watches (default: PGBRIDGE_CONFIG_JSON, PGBRIDGE_CONFIG, ./pgbridge.config.json)');
}

/** A commander argument parser for a whole number of at least 1. */
export function positiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(value);
}

/** A commander parser for a repeatable event id: collects every value given. */
export function eventIds(value: string, previous: string[] = []): string[] {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError('an event id is a decimal number (the "id" of the event, as `pgbridge parked list` prints it)');
  return [...previous, value];
}

/** A commander parser for a repeatable watch name: collects every value given. */
export function watchNames(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A commander parser for a duration with its unit (`60s`, `5m`, `1.5h`, `2 days`, as the `ms` package reads them), in seconds. */
export function durationSeconds(value: string): number {
  const milliseconds = /^\s*\d+(\.\d+)?\s*[a-z]+\s*$/i.test(value) ? ms(value as ms.StringValue) : undefined;
  if (milliseconds === undefined || !(milliseconds > 0))
    throw new InvalidArgumentError('expected a duration with its unit, such as 60s, 5m or 1h');
  return milliseconds / 1000;
}

/** A commander argument parser for a whole number of at least 0. */
export function nonNegativeInteger(value: string): number {
  if (!/^(0|[1-9]\d*)$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 0');
  return Number(value);
}
