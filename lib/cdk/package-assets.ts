import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.ts';

/** The Lambda handlers pgbridge ships prebuilt, by the entry file bin/build-bundles.ts bundles. */
export const BUILT_IN_HANDLERS = {
  'email-handler': 'functions/consumers/email-handler.ts',
  'webhook-handler': 'functions/consumers/webhook-handler.ts',
  'database-installer': 'functions/installer/database-installer.ts',
} as const;

/** Built-in handlers that read sql/ at run time: their bundle directory carries a copy. */
export const HANDLERS_WITH_SQL: readonly BuiltInHandler[] = ['database-installer'];

export type BuiltInHandler = keyof typeof BUILT_IN_HANDLERS;

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
    throw new Error(
      `pgbridge: ${directory} is missing; in a checkout of pgbridge run "npm run build" first (an installed package ships it)`,
    );
  }
  return directory;
}
