import { build } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ListenerBundles {
  pgbridge: string;
  naive: string;
  /** `sql/` for the bundled listener (PGBRIDGE_SQL_DIR), as in the image. */
  sqlDir: string;
}

/**
 * Both listeners bundled the way functions/listener/Dockerfile builds the image, and run with
 * plain `node`: CPU and RSS are then the production process's, without tsx compiling on the fly.
 */
export async function buildListenerBundles(): Promise<ListenerBundles> {
  const outDir = mkdtempSync(join(tmpdir(), 'pgbridge-bench-'));
  const bundle = async (entry: string, name: string) => {
    const outfile = join(outDir, name);
    await build({
      entryPoints: [join(REPO_ROOT, entry)],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      external: ['pg-native'],
      outfile,
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'warning',
    });
    return outfile;
  };
  return {
    pgbridge: await bundle('functions/listener/main.ts', 'listener.mjs'),
    naive: await bundle('bench/naive/naive-listener.ts', 'naive-listener.mjs'),
    sqlDir: join(REPO_ROOT, 'sql'),
  };
}
