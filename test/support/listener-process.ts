import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../functions/listener/main.ts', import.meta.url));

export interface ListenerProcess {
  child: ChildProcess;
  logs: any[];
  /** Known once the process has logged its health endpoint (it binds a free port). */
  readonly healthUrl: string;
  exited: Promise<number | null>;
  role(): Promise<string | undefined>;
}

/**
 * The real listener entry point in its own process, for SIGKILL and SIGTERM tests; `main` runs
 * another checkout's (an older version's) instead.
 */
export function spawnListener(env: Record<string, string>, main = MAIN): ListenerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      PGBRIDGE_HEALTH_PORT: '0',
      PGBRIDGE_POLL_INTERVAL_MS: '500',
      PGBRIDGE_LEADER_RETRY_MS: '250',
      PGBRIDGE_MAX_BACKOFF_MS: '1000',
      PGBRIDGE_LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: any[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => logs.push({ stderr: chunk.toString() }));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const healthUrl = () => {
    const line = logs.find((entry) => entry.msg === 'health endpoint');
    return line ? `http://127.0.0.1:${line.port}/` : 'http://127.0.0.1:1/';
  };
  return {
    child,
    logs,
    get healthUrl() {
      return healthUrl();
    },
    exited,
    async role() {
      try {
        const response = await fetch(healthUrl());
        return ((await response.json()) as { role: string }).role;
      } catch {
        return undefined;
      }
    },
  };
}
