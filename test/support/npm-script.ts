import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** tsx's loader by path, so that the command also runs from a directory outside the checkout. */
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/**
 * The program and arguments `npm run NAME` starts, runnable from any working directory.
 * Long-running scripts must run node itself: tsx's CLI stands between the terminal and the
 * process and SIGKILLs it when it does not confirm a signal within 30 ms (a busy event loop at
 * Ctrl-C), so a clean stop would turn into exit 130 with the embedded Postgres left behind.
 */
export function npmScriptCommand(name: string): { program: string; args: string[] } {
  const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const script = scripts[name];
  const match = /^node --import tsx (\S+)((?: \S+)*)$/.exec(script ?? '');
  if (!match) {
    throw new Error(
      `package.json script "${name}" is ${JSON.stringify(script)}: make it "node --import tsx <file> [args]" so that signals reach the process itself`,
    );
  }
  const [, file, rest] = match;
  return { program: process.execPath, args: ['--import', TSX_LOADER, join(REPO, file!), ...rest!.split(' ').filter(Boolean)] };
}
