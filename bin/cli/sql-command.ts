import type { Command } from 'commander';
import { installScript } from '../../lib/capture/installer.ts';
import { loadBridgeConfig } from '../../lib/config/watch-config.ts';
import { configOption } from './options.ts';

export function addSqlCommand(program: Command): void {
  program
    .command('sql')
    .description('print what install does as one SQL script, for migration tools (no database needed)')
    .addOption(configOption())
    .action(({ config }: { config?: string }) => {
      const { watches, retentionDays } = loadBridgeConfig({ path: config });
      process.stdout.write(installScript(watches, { retentionDays }));
    });
}
