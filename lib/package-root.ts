import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUp } from './find-up.ts';

let root: string | undefined;

/**
 * The directory of pgbridge's package.json: this checkout when run from source (lib/...), the
 * installed package when run compiled (dist/lib/...). The nearest package.json above this file
 * is pgbridge's own in both layouts, since dist/ holds none.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  const packageJson = findUp(['package.json'], start);
  if (packageJson === undefined) throw new Error(`pgbridge: no package.json found above ${start}; reinstall the pgbridge package`);
  root = dirname(packageJson);
  return root;
}
