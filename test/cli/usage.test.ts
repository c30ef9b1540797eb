import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../../bin/cli/package-version.ts';
import { runCli } from '../support/cli-process.ts';

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// Every command the README's CLI table lists, with the options it documents.
const COMMANDS: Array<[string[], string[]]> = [
  [['install'], ['--config <file>']],
  [['sql'], ['--config <file>']],
  [['uninstall'], ['--force']],
  [['listen'], ['--config <file>', '--no-install']],
  [['grant-listener'], ['<role>']],
  [['status'], ['--config <file>', '--json', '--watch <name...>', '--max-age <duration>']],
  [['parked', 'list'], ['--limit <n>']],
  [['parked', 'resend'], ['--id <id...>']],
  [['types'], ['--config <file>', '--out <file>']],
  [['backfill'], ['--table <table>', '--label <label>', '--where <sql>', '--target <consumer>', '--chunk <rows>', '--restart']],
  [['backfill', 'status'], []],
];

describe.concurrent('pgbridge usage', () => {
  it('--version prints the version from package.json', async () => {
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${manifest.version}\n`, stderr: '' });
  });

  it('finds package.json from a compiled copy in dist/bin/cli as well as from source', () => {
    expect(packageVersion(new URL('../../dist/bin/cli/package-version.js', import.meta.url).href)).toBe(manifest.version);
  });

  it('without a command prints the usage, every command and the exit codes', async () => {
    const { code, stdout } = await runCli([]);
    expect(code).toBe(0);
    for (const [[command]] of COMMANDS) expect(stdout).toContain(`\n  ${command}`);
    expect(stdout).toContain('2 configuration or usage error');
  });

  it.each(COMMANDS)('%j --help shows its usage and options and exits 0', async (command, options) => {
    const { code, stdout, stderr } = await runCli([...command, '--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain(`Usage: pgbridge ${command.join(' ')} [options]`);
    for (const option of options) expect(stdout).toContain(option);
  });

  it('an unknown option names the command and shows its valid options, exit 2', async () => {
    const { code, stdout, stderr } = await runCli(['status', '--verbose']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^pgbridge status: unknown option '--verbose'\n/);
    expect(stderr).toContain('Usage: pgbridge status [options]');

    const nested = await runCli(['parked', 'list', '--limt', '5']);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toContain("pgbridge parked list: unknown option '--limt'");
    expect(nested.stderr).toContain('--limit <n>');
  });

  it('an unknown command is named and the commands are listed, exit 2', async () => {
    const { code, stderr } = await runCli(['instal']);
    expect(code).toBe(2);
    expect(stderr).toContain("pgbridge: unknown command 'instal'");
    expect(stderr).toContain('(Did you mean install?)');
    expect(stderr).toContain('grant-listener <role>');
  });

  it('a missing argument or a bad value is named, exit 2, before any database is contacted', async () => {
    const unreachable = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
    const noRole = await runCli(['grant-listener'], unreachable);
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toContain("pgbridge grant-listener: missing required argument 'role'");

    const badLimit = await runCli(['parked', 'list', '--limit', 'ten'], unreachable);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain("option '--limit <n>' argument 'ten' is invalid. expected a whole number of at least 1");

    const badId = await runCli(['parked', 'resend', '--id', '17', 'x18'], unreachable);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain("option '--id <id...>' argument 'x18' is invalid");

    const bareParked = await runCli(['parked'], unreachable);
    expect(bareParked.code).toBe(2);
    expect(bareParked.stderr).toContain('Usage: pgbridge parked [options] [command]');
  });

  it('a bad watch config is a configuration error naming the value, exit 2', async () => {
    const { code, stdout, stderr } = await runCli(['sql'], {
      PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'users', actions: ['upsert'] }] }),
    });
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      'pgbridge: invalid PGBRIDGE_CONFIG_JSON:\n  - watches[0] (users).actions[0]: "upsert" is not an action (insert, update, delete, truncate)\n',
    );
  });
});
