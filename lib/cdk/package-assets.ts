import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.ts';

/** The Lambda handlers pgbridge ships prebuilt (scripts/bundle.ts). */
export type BuiltInHandler = 'email-handler' | 'webhook-handler';

/** The directory of a prebuilt handler bundle: `index.mjs` exporting `handler`. */
export function builtInHandlerDirectory(name: BuiltInHandler): string {
  return builtAsset(join('lambda', name));
}

/** The listener image's build context: its Dockerfile, the listener bundle and sql/. */
export function listenerImageDirectory(): string {
  return builtAsset('listener-image');
}

function builtAsset(path: string): string {
  const directory = join(packageRoot(), 'dist', path);
  if (!existsSync(directory)) {
    throw new Error(`pgbridge: ${directory} is missing; in a checkout of pgbridge run "npm run build" first (an installed package ships it)`);
  }
  return directory;
}
