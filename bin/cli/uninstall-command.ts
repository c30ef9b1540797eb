import type { Command } from 'commander';
import { uninstall } from '../../lib/capture/installer.ts';
import { withDatabase } from './database.ts';

export function addUninstallCommand(program: Command): void {
  program
    .command('uninstall')
    .description('drop the triggers and the pgbridge schema; refuses while events are undelivered')
    .option('--force', 'drop even undelivered and parked events')
    .action(async ({ force = false }: { force?: boolean }) => {
      await withDatabase((client) => uninstall(client, { force }));
      console.log('pgbridge removed');
    });
}
