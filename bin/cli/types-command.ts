import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../../lib/config/watch-config.ts';
import { generateTypes } from '../../lib/typegen/generate-types.ts';
import { withDatabase } from './database.ts';
import { configOption } from './options.ts';

export function addTypesCommand(program: Command): void {
  program
    .command('types')
    .description("print TypeScript types of the watches' events, from the live schema (for handleChanges<PgBridgeEvent>)")
    .addOption(configOption())
    .option('--out <file>', 'write the types to this file instead of stdout')
    .action(async ({ config, out }: { config?: string; out?: string }) => {
      const watches = loadConfig({ path: config });
      const { source, notInstalled } = await withDatabase((client) => generateTypes(client, watches));
      if (notInstalled.length > 0) {
        console.error(
          `pgbridge types: not installed as configured in this database: ${notInstalled.join(', ')}; ` +
            'the types follow the config, run `pgbridge install` so that the triggers send what they describe',
        );
      }
      if (!out) {
        process.stdout.write(source);
        return;
      }
      try {
        writeFileSync(out, source);
      } catch (error) {
        throw new Error(`cannot write ${out}: ${(error as Error).message}`, { cause: error });
      }
      console.log(`wrote the types of ${watches.length} watch(es) to ${out}`);
    });
}
