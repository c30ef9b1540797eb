import type { Command } from 'commander';
import { statement } from '../../lib/capture/sql-files.ts';
import { withInstalledDatabase } from './database.ts';
import { eventIds, positiveInteger } from './options.ts';

export function addParkedCommand(program: Command): void {
  const parked = program.command('parked').description('events the sink refused for their content');
  parked
    .command('list')
    .description('print parked events, oldest first, one JSON object a line, with the reason')
    .option('--limit <n>', 'at most this many', positiveInteger, 100)
    .action(async ({ limit }: { limit: number }) => {
      const { rows } = await withInstalledDatabase((client) => client.query(statement('admin/parked-list'), [limit]));
      for (const row of rows) console.log(JSON.stringify(row));
      if (rows.length === 0) console.log('no parked events');
    });
  parked
    .command('resend')
    .description('put parked events back into the outbox after fixing the cause (all of them without --id)')
    .option('--id <id...>', 'only these events', eventIds)
    .action(async ({ id }: { id?: string[] }) => {
      const { rows } = await withInstalledDatabase((client) =>
        client.query<{ id: string }>(statement('admin/parked-resend'), [id ?? null]),
      );
      console.log(`${rows.length} parked event(s) back in the outbox`);
      const resent = new Set(rows.map((row) => row.id));
      const notParked = (id ?? []).filter((wanted) => !resent.has(wanted));
      if (notParked.length > 0) console.log(`not parked (nothing done for them): ${notParked.join(', ')}`);
    });
}
