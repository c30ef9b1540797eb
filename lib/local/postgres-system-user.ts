import { execFileSync, spawnSync } from 'node:child_process';

export interface SystemUser {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root, so as root we run it as a `postgres` system user (created if missing). */
export function postgresSystemUser(): SystemUser {
  const lookup = () => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'ignore' });
  } catch (error) {
    // Test files start servers in parallel: another process may have created the user first.
    const created = lookup();
    if (created) return created;
    throw new Error(`cannot create the postgres system user to run PostgreSQL as (it refuses to run as root): ${(error as Error).message}`);
  }
  return lookup()!;
}

/** Whether `user` may enter `dir` (every parent must let it through). */
export function canEnter(dir: string, user: SystemUser): boolean {
  return spawnSync('test', ['-x', dir], user).status === 0;
}

/** Whether `user` may create files in `dir`. */
export function canWrite(dir: string, user: SystemUser): boolean {
  return spawnSync('test', ['-w', dir], user).status === 0;
}
