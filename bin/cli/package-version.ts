import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in pgbridge's package.json, looked up from this module's own folder upwards: the
 * file is one level up from source (bin/cli/) and two from a build (dist/bin/cli/), and a
 * package.json without a version (such as a `"type"` marker inside dist/) is skipped.
 */
export function packageVersion(moduleUrl = import.meta.url): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = readManifest(join(dir, 'package.json'));
    if (typeof manifest?.version === 'string') return manifest.version;
    if (dirname(dir) === dir) throw new Error(`no package.json with a version in ${start} or above`);
  }
}

function readManifest(file: string): { version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
