import type { Command } from 'commander';
import { configOption } from './options.ts';

export function addListenCommand(program: Command): void {
  program
    .command('listen')
    .description('run the listener: drain the outbox to SNS/SQS until SIGTERM (installs first)')
    .addOption(configOption())
    .option('--no-install', 'drain what is installed, do not touch triggers (also PGBRIDGE_NO_INSTALL=true)')
    .action(async ({ config, install }: { config?: string; install: boolean }) => {
      // Loaded on use: the AWS SDK would make every other command and --help start slower.
      const { runListener } = await import('../../functions/listener/main.ts');
      await runListener({ configPath: config, install });
    });
}
