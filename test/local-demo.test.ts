import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunning } from './support/process-state.ts';
import { npmScriptCommand } from './support/npm-script.ts';
import { waitFor } from './support/test-listener.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'pgbridge-start-'));

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  // As root the demo keeps its database in the temporary directory (see demoDataDir).
  const hash = createHash('sha256').update(workDir).digest('hex').slice(0, 12);
  rmSync(join(tmpdir(), `pgbridge-demo-${hash}`), { recursive: true, force: true });
});

describe('npm start', () => {
  it('runs the whole flow locally: the demo rows show up as a message, an email and a signed webhook; Ctrl-C stops everything and exits 0', async () => {
    const { DATABASE_URL: _database, AWS_ENDPOINT_URL: _endpoint, ...env } = process.env;
    // What `npm start` runs, from another working directory (the demo keeps its data in ./.pgbridge;
    // workDir is private like /root, so as root the data goes to the temporary directory).
    // Detached: in a process group of its own, like a command a terminal runs in the foreground.
    const { program, args } = npmScriptCommand('start');
    const demo = spawn(program, args, {
      cwd: workDir,
      env: { ...env, PGBRIDGE_CONFIG: join(REPO, 'pgbridge.config.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', resolve));
    let postgresPid: number | undefined;
    try {
      await waitFor(
        () =>
          demo.exitCode !== null ||
          (/message {2}\{"table":"users"/.test(output) &&
            /email {4}to .*"New signup: Ada"/.test(output) &&
            /webhook {2}POST .* signature ok/.test(output)),
        60_000,
        'message, email and webhook in the npm start output',
      );
      const dataDir = /Postgres {3}\S+ {3}\(data in (\S+)\)/.exec(output)?.[1];
      if (dataDir) postgresPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } finally {
      // Ctrl-C in a terminal: SIGINT to every process of the foreground group.
      if (demo.exitCode === null) process.kill(-demo.pid!, 'SIGINT');
    }
    expect(await exited, output).toBe(0);
    expect(output).toContain('pgbridge stopped. Bye!');
    expect(output).not.toMatch(/Unhandled|\n\s+at /);
    expect(postgresPid).toBeGreaterThan(0);
    expect(isRunning(postgresPid!)).toBe(false);
    expect(output).toMatch(/email {4}to .*"New signup: Ada"/);
    expect(output).toMatch(/webhook {2}POST .* signature ok/);
    expect(output).toContain('pgbridge is running.');
    expect(output).toMatch(/psql "postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres" -c "INSERT INTO users/);
    expect(output).not.toContain('tok_demo');
  }, 90_000);
});
