import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * A node process run as `nice -n 19 node <args>` (a bundle, or `--import tsx <file.ts>`): the listeners and the
 * emulator share the two cores with Postgres here, but must not steal them from the writers
 * being timed. `nice` execs node, so the child's pid is the node process itself and its
 * /proc entry gives the listener's own CPU time and peak RSS.
 */
export class NicedProcess {
  private readonly child: ChildProcess;
  private output = '';
  private readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    nodeArgs: string[],
    env: Record<string, string>,
  ) {
    // BENCH_CHILD_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the listeners and the
    // emulator (node refuses --cpu-prof in NODE_OPTIONS).
    const flags = (process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    this.child = spawn('nice', ['-n', '19', process.execPath, ...flags, ...nodeArgs], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // BENCH_CHILD_LOGS=<dir>: every child's whole output also goes to <dir>/<name>.log, to see
    // after a run what a listener logged (warnings, backoffs) while it was measured.
    const logDir = process.env.BENCH_CHILD_LOGS;
    const logFile = logDir ? join(logDir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.log`) : undefined;
    const keep = (chunk: Buffer) => {
      if (logFile) appendFileSync(logFile, chunk);
      // Only the head matters (readiness line, errors); a chatty child must not grow memory.
      if (this.output.length < 200_000) this.output += chunk.toString();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Throws (with the child's last output) if it has exited: a run must not wait for a dead listener. */
  assertRunning(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.output.slice(-4000)}`);
    }
  }

  /** Resolves with the first output line matching `pattern`; fails if the process exits first. */
  async waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.output.split('\n').find((candidate) => pattern.test(candidate));
      if (line) return line;
      this.assertRunning();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms:\n${this.output.slice(-4000)}`);
  }

  /** User + system CPU seconds so far. */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : NaN;
  }

  /** SIGKILL: the process gets no chance to clean up, as when a container is killed. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** CPU seconds of any process on this machine (a Postgres backend, too); NaN once it has ended. */
export function processCpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN;
  }
  // Fields after the command name, which may contain spaces, start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
