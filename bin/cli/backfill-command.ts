import type { Command } from 'commander';
import { listBackfills } from '../../lib/backfill/backfill-status.ts';
import { DEFAULT_CHUNK, runBackfill } from '../../lib/backfill/backfill-runner.ts';
import { backfillReporter } from './backfill-progress.ts';
import { backfillTable } from './backfill-table.ts';
import { withDatabase } from './database.ts';
import { positiveInteger } from './options.ts';

interface BackfillCommandOptions {
  table?: string;
  label?: string;
  where?: string;
  target?: string;
  chunk: number;
  restart?: boolean;
}

export function addBackfillCommand(program: Command): void {
  const backfill = program
    .command('backfill')
    .description('send a "read" event for every existing row of a watched table (resumable)')
    // Not a requiredOption: commander would demand it of `backfill status` too.
    .option('--table <table>', 'the watched table: name or schema.name (required)')
    .option('--label <label>', 'the watch whose columns and label the events get (when the table has several)')
    .option('--where <sql>', 'only rows matching this SQL condition, e.g. "plan = \'pro\'"')
    .option('--target <consumer>', 'only this consumer receives the events (the consumer id, e.g. SignupEmail)')
    .option('--chunk <rows>', 'rows per chunk, each in its own short transaction', positiveInteger, DEFAULT_CHUNK)
    .option('--restart', 'start over instead of continuing an unfinished backfill of the same table, --where and --target')
    .action(async (options: BackfillCommandOptions, command: Command) => {
      const { table } = options;
      if (table === undefined) command.error("error: required option '--table <table>' not specified");
      await withDatabase((client) => runBackfill(client, { ...options, table }, backfillReporter()));
    });
  backfill
    .command('status')
    .description('list backfills with their state and progress')
    .action(async () => {
      const backfills = await withDatabase(listBackfills);
      console.log(backfills.length === 0 ? 'no backfills' : backfillTable(backfills).join('\n'));
    });
}
