import type { Command } from 'commander';
import { pendingEvents } from '../../lib/capture/installer.ts';
import { withDatabase } from './database.ts';

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('undelivered and parked event counts')
    .action(async () => {
      const pending = await withDatabase(pendingEvents);
      console.log(pending ? JSON.stringify(pending) : 'pgbridge is not installed in this database');
    });
}
