import type { Command } from 'commander';
import { statement } from '../../lib/capture/sql-files.ts';
import { ConfigError } from '../../lib/errors.ts';
import { withInstalledDatabase } from './database.ts';

export function addGrantListenerCommand(program: Command): void {
  program
    .command('grant-listener')
    .description('let a least-privileged role run `pgbridge listen --no-install`')
    .argument('<role>', 'an existing database role')
    .action(async (role: string) => {
      await withInstalledDatabase(async (client) => {
        const { exists } = (await client.query<{ exists: boolean }>(statement('admin/role-exists'), [role])).rows[0]!;
        if (!exists) throw new ConfigError(`role "${role}" does not exist: create it first (CREATE ROLE ... LOGIN), then grant it`);
        await client.query(statement('admin/grant-listener'), [role]);
      });
      console.log(`role ${role} may now run the listener (pgbridge listen --no-install)`);
    });
}
