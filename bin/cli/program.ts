import { Command } from 'commander';
import { addBackfillCommand } from './backfill-command.ts';
import { addGrantListenerCommand } from './grant-listener-command.ts';
import { addInstallCommand } from './install-command.ts';
import { addListenCommand } from './listen-command.ts';
import { packageVersion } from './package-version.ts';
import { addParkedCommand } from './parked-command.ts';
import { addReplayCommand } from './replay-command.ts';
import { addRedriveCommand } from './redrive-command.ts';
import { addSqlCommand } from './sql-command.ts';
import { addStatusCommand } from './status-command.ts';
import { addTypesCommand } from './types-command.ts';
import { addUninstallCommand } from './uninstall-command.ts';

/** Every command, in the order `pgbridge --help` lists them. A new command is one file and one line here. */
const COMMANDS = [
  addInstallCommand,
  addSqlCommand,
  addUninstallCommand,
  addListenCommand,
  addGrantListenerCommand,
  addStatusCommand,
  addParkedCommand,
  addReplayCommand,
  addTypesCommand,
  addRedriveCommand,
  addBackfillCommand,
];

const ENVIRONMENT = `
Environment: DATABASE_URL (or PGHOST, PGUSER, ...), PGBRIDGE_CONFIG, PGBRIDGE_CONFIG_JSON,
PGBRIDGE_TOPIC_ARN or PGBRIDGE_QUEUE_URL, AWS_REGION, AWS_ENDPOINT_URL. See README.md.
Exit codes: 0 done, 1 failed (database or AWS unreachable, ...), 2 configuration or usage error.`;

/**
 * The `pgbridge` command line. Usage errors (unknown command or option, missing or bad argument)
 * print the command's help and throw a CommanderError instead of exiting, so the caller chooses
 * the exit code; the settings are inherited by every command added after them.
 */
export function createProgram(): Command {
  const program = new Command('pgbridge')
    .description('row changes in PostgreSQL become SNS/SQS messages')
    .version(packageVersion(), '-V, --version', 'print the pgbridge version')
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', ENVIRONMENT);
  for (const addCommand of COMMANDS) addCommand(program);
  nameCommandInErrors(program);
  return program;
}

/** `error: unknown option '--bogus'` becomes `pgbridge status: unknown option '--bogus'`. */
function nameCommandInErrors(command: Command): void {
  const name = commandPath(command);
  command.configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, `${name}: `)) });
  for (const subcommand of command.commands) nameCommandInErrors(subcommand);
}

function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}
