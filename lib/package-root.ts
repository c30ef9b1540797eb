import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The directory of pgbridge's package.json: this checkout when run from source (lib/...), the
 * installed package when run compiled (dist/lib/...). The nearest package.json above this file
 * is pgbridge's own in both layouts, since dist/ holds none.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let directory = start; ; directory = dirname(directory)) {
    if (existsSync(join(directory, 'package.json'))) return (root = directory);
    if (dirname(directory) === directory) throw new Error(`pgbridge: no package.json found above ${start}; reinstall the pgbridge package`);
  }
}
