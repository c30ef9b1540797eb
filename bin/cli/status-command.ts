import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { readBridgeStatus, type BridgeStatus } from '../../lib/capture/bridge-status.ts';
import { loadConfig, type Watch } from '../../lib/config/watch-config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { withDatabase } from './database.ts';
import { configOption, durationSeconds, watchNames } from './options.ts';
import { statusReport } from './status-report.ts';

interface StatusOptions {
  config?: string;
  json?: boolean;
  /** Seconds. */
  maxAge?: number;
  watch?: string[];
}

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'per watch: trigger state, events waiting, oldest, published in the last minute; the leader; parked events; unfinished backfills',
    )
    .addOption(configOption())
    .option('--json', 'one JSON object, for scripts')
    .option('--watch <name...>', 'only these watches ("schema.table" or "schema.table#label", as status lists them)', watchNames)
    .option('--max-age <duration>', 'exit 1 when the oldest waiting event is older (60s, 5m, 1h): a health probe', durationSeconds)
    .action(async (options: StatusOptions) => {
      const watches = configuredWatches(options.config);
      const status = await withDatabase((client) => readBridgeStatus(client, watches));
      if (!status) {
        console.log(options.json ? JSON.stringify({ installed: false }) : 'pgbridge is not installed in this database');
        if (options.maxAge !== undefined) throw new Error('pgbridge is not installed in this database, nothing drains it');
        return;
      }
      const shown = options.watch ? selectWatches(status, options.watch) : status;
      console.log(options.json ? JSON.stringify({ installed: true, ...shown }) : statusReport(shown));
      if (options.maxAge !== undefined) assertYoungEnough(shown, options.maxAge);
    });
}

/** The config to compare with: the one named, or the default file when there is one; else none. */
function configuredWatches(path: string | undefined): Watch[] | undefined {
  const named = path ?? process.env.PGBRIDGE_CONFIG_JSON ?? process.env.PGBRIDGE_CONFIG;
  if (named === undefined && !existsSync('pgbridge.config.json')) return undefined;
  return loadConfig({ path });
}

/** Only the named watches; totals become theirs. An unknown name is an error naming the known ones. */
function selectWatches(status: BridgeStatus, names: string[]): BridgeStatus {
  const known = status.watches.map((watch) => watch.name);
  const unknown = names.find((name) => !known.includes(name));
  if (unknown !== undefined) {
    throw new ConfigError(
      `watch "${unknown}" is not installed${known.length > 0 ? ` (watches: ${known.join(', ')})` : ' (no watches are installed)'}`,
    );
  }
  const watches = status.watches.filter((watch) => names.includes(watch.name));
  const ages = watches.flatMap((watch) => (watch.oldestAgeSeconds === null ? [] : [watch.oldestAgeSeconds]));
  return {
    ...status,
    watches,
    waiting: watches.reduce((sum, watch) => sum + watch.waiting, 0),
    oldestAgeSeconds: ages.length > 0 ? Math.max(...ages) : null,
    publishedLastMinute: watches.reduce((sum, watch) => sum + watch.publishedLastMinute, 0),
    backfills: status.backfills?.filter((backfill) => names.includes(backfill.watch)) ?? null,
  };
}

function assertYoungEnough(status: BridgeStatus, maxAgeSeconds: number): void {
  if (status.oldestAgeSeconds === null || status.oldestAgeSeconds <= maxAgeSeconds) return;
  throw new Error(`the oldest waiting event is ${status.oldestAgeSeconds.toFixed(1)} s old, over --max-age (${maxAgeSeconds} s)`);
}
