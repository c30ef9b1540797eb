import type { Command } from 'commander';
import { statement } from '../../lib/capture/sql-files.ts';
import { withDatabase } from './database.ts';

export function addGrantListenerCommand(program: Command): void {
  program
    .command('grant-listener')
    .description('let a least-privileged role run `pgbridge listen --no-install`')
    .argument('<role>', 'an existing database role')
    .action(async (role: string) => {
      await withDatabase((client) => client.query(statement('admin/grant-listener'), [role]));
      console.log(`role ${role} may now run the listener (pgbridge listen --no-install)`);
    });
}
