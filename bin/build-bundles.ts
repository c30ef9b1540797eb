/**
 * The prebuilt parts of the package, run by `npm run build` after tsc: the built-in Lambda
 * handlers (dist/lambda/<name>/index.mjs) and the listener image's build context
 * (dist/listener-image: the bundle, sql/ and the Dockerfile). The constructs point at these, so a
 * user's synth needs neither esbuild nor a lockfile for them, and the image builds from the
 * installed package alone.
 */
import { build, type BuildOptions } from 'esbuild';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILT_IN_HANDLERS, HANDLERS_WITH_SQL } from '../lib/cdk/package-assets.ts';
import { packageRoot } from '../lib/package-root.ts';

// ESM bundles pull in CommonJS dependencies that call require() for Node built-ins.
const esm: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'warning',
};

export async function bundle(root = packageRoot()): Promise<void> {
  const dist = join(root, 'dist');
  const listenerDir = join(dist, 'listener-image');
  rmSync(listenerDir, { recursive: true, force: true });
  await Promise.all([
    ...Object.entries(BUILT_IN_HANDLERS).map(([name, entry]) =>
      build({
        ...esm,
        entryPoints: [join(root, entry)],
        outfile: join(dist, 'lambda', name, 'index.mjs'),
        target: 'node22',
        minify: true,
        sourcemap: true,
        // The Node.js 22 runtime ships AWS SDK v3; bundling it again only grows cold starts.
        // pg-native is pg's optional native binding; the JavaScript client is used.
        external: ['@aws-sdk/*', 'pg-native'],
      }),
    ),
    build({
      ...esm,
      entryPoints: [join(root, 'functions', 'listener', 'main.ts')],
      outfile: join(listenerDir, 'listener.mjs'),
      target: 'node22',
      // pg's optional native binding; the listener uses the JavaScript client.
      external: ['pg-native'],
    }),
  ]);
  cpSync(join(root, 'sql'), join(listenerDir, 'sql'), { recursive: true });
  for (const name of HANDLERS_WITH_SQL) cpSync(join(root, 'sql'), join(dist, 'lambda', name, 'sql'), { recursive: true });
  cpSync(join(root, 'functions', 'listener', 'Dockerfile'), join(listenerDir, 'Dockerfile'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await bundle();
