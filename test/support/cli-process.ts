import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/pgbridge.ts', import.meta.url));
/** tsx's loader by path, so that the CLI also runs from a directory outside the checkout. */
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `pgbridge ARGS` as a user would, in its own process, and resolves whatever its exit code.
 * `cwd`: where it runs (commands read ./pgbridge.config.json by default).
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, { cwd }: { cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args], { env: { ...process.env, ...env }, cwd }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
