import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { findUp } from '../find-up.ts';
import type { PropsCheck } from './props-validation.ts';

/** Where a custom consumer's code lives in the user's app, and how NodejsFunction bundles it. */
export interface HandlerFileOptions {
  /**
   * The code: a TypeScript/JavaScript file exporting `handler` (typically built with
   * `handleChanges` from `pgbridge/consumer`), bundled at synth with the app's esbuild (no
   * Docker). A relative path is resolved against `projectRoot`.
   */
  readonly handler: string;
  /** @default 'handler' */
  readonly handlerExport?: string;
  /**
   * The app's directory: `handler` is resolved against it and it holds (or sits below) the
   * lockfile. `cdk synth` runs the app from its own directory, so the default fits a CDK app.
   * @default process.cwd()
   */
  readonly projectRoot?: string;
  /**
   * The lockfile NodejsFunction installs and hashes dependencies by.
   * @default the first package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock or bun.lockb in
   * `projectRoot` or a directory above it (a workspace root)
   */
  readonly depsLockFilePath?: string;
}

/** What NodejsFunction gets: its `entry`, `projectRoot` and `depsLockFilePath`. */
export interface ResolvedHandlerFile {
  readonly entry: string;
  readonly projectRoot: string;
  readonly depsLockFilePath: string;
}

/** The lockfiles NodejsFunction knows, in the order it looks for them. */
const LOCK_FILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb', 'package-lock.json'];

/**
 * Resolves the handler file and lockfile of a custom consumer, recording in `check` what is
 * missing with the option that fixes it; undefined when something is.
 */
export function resolveHandlerFile(options: HandlerFileOptions, check: PropsCheck): ResolvedHandlerFile | undefined {
  const projectRoot = resolve(options.projectRoot ?? process.cwd());
  const entry = resolve(projectRoot, options.handler);
  const lockFile =
    options.depsLockFilePath === undefined ? findUp(LOCK_FILES, projectRoot) : resolve(projectRoot, options.depsLockFilePath);
  check.require(
    existsSync(entry) && statSync(entry).isFile(),
    `handler: file ${entry} does not exist (a relative handler is resolved against projectRoot ${projectRoot}; set projectRoot to your app's directory or give an absolute path)`,
  );
  if (lockFile === undefined) {
    check.require(
      false,
      `no lockfile (${LOCK_FILES.join(', ')}) in ${projectRoot} or above it: install your app's dependencies, or set depsLockFilePath`,
    );
    return undefined;
  }
  check.require(existsSync(lockFile), `depsLockFilePath: ${lockFile} does not exist`);
  // A lockfile above projectRoot is a workspace root: NodejsFunction then bundles from there, as
  // it does by default, since the entry and the lockfile must both lie under its projectRoot.
  const bundlingRoot = isWithin(dirname(lockFile), projectRoot) ? dirname(lockFile) : projectRoot;
  check.require(
    isWithin(bundlingRoot, lockFile),
    `depsLockFilePath: ${lockFile} must be in projectRoot ${projectRoot}, below it, or in a directory above it`,
  );
  check.require(
    isWithin(bundlingRoot, entry),
    `handler: ${entry} must be inside projectRoot ${bundlingRoot} (set projectRoot to a directory that contains it)`,
  );
  return { entry, projectRoot: bundlingRoot, depsLockFilePath: lockFile };
}

function isWithin(directory: string, path: string): boolean {
  const rest = relative(directory, path);
  return rest === '' || (!rest.startsWith('..') && !isAbsolute(rest));
}
