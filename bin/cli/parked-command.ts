import type { Command } from 'commander';
import { statement } from '../../lib/capture/sql-files.ts';
import { withDatabase } from './database.ts';
import { eventIds, positiveInteger } from './options.ts';

export function addParkedCommand(program: Command): void {
  const parked = program.command('parked').description('events the sink refused for their content');
  parked
    .command('list')
    .description('print parked events, oldest first, one JSON object a line, with the reason')
    .option('--limit <n>', 'at most this many', positiveInteger, 100)
    .action(async ({ limit }: { limit: number }) => {
      const { rows } = await withDatabase((client) => client.query(statement('admin/parked-list'), [limit]));
      for (const row of rows) console.log(JSON.stringify(row));
      if (rows.length === 0) console.log('no parked events');
    });
  parked
    .command('resend')
    .description('put parked events back into the outbox after fixing the cause (all of them without --id)')
    .option('--id <id...>', 'only these events', eventIds)
    .action(async ({ id }: { id?: string[] }) => {
      const { rowCount } = await withDatabase((client) => client.query(statement('admin/parked-resend'), [id ?? null]));
      console.log(`${rowCount} parked event(s) back in the outbox`);
    });
}
