import type { Command } from 'commander';
import { install } from '../../lib/capture/installer.ts';
import { loadBridgeConfig } from '../../lib/config/watch-config.ts';
import { withDatabase } from './database.ts';
import { configOption } from './options.ts';

export function addInstallCommand(program: Command): void {
  program
    .command('install')
    .description('create or update the outbox schema and the watch triggers, in one transaction')
    .addOption(configOption())
    .action(async ({ config }: { config?: string }) => {
      const { watches, retentionDays } = loadBridgeConfig({ path: config });
      await withDatabase((client) => install(client, watches, { retentionDays }));
      console.log(`installed ${watches.length} watch(es): ${watches.map((watch) => watch.name).join(', ')}`);
    });
}
