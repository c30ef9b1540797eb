import { bundle } from '../../bin/build-bundles.ts';

/**
 * vitest globalSetup: the prebuilt handlers and the listener image context that the constructs
 * point at, built from the current source before any test synthesises or runs them.
 */
export default async function setup(): Promise<void> {
  await bundle();
}
