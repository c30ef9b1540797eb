import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The first of `names` in `start` or the nearest directory above it that has one (earlier names
 * win within a directory); undefined when no directory up to the root has any.
 */
export function findUp(names: readonly string[], start: string): string | undefined {
  for (let directory = start; ; directory = dirname(directory)) {
    const found = names.map((name) => join(directory, name)).find((path) => existsSync(path));
    if (found) return found;
    if (dirname(directory) === directory) return undefined;
  }
}
