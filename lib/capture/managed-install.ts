import type pg from 'pg';
import type { Watch } from '../config/watch-config.ts';
import { install } from './installer.ts';
import { ensureListenerLogin } from './listener-role.ts';
import { scramSha256Verifier } from './scram-verifier.ts';

export interface ListenerLogin {
  /** Login role the listener connects as. */
  roleName: string;
  password: string;
}

export interface ManagedInstall {
  watches: Watch[];
  /**
   * SQL the owner runs before the install, e.g. an example's own tables (`CREATE TABLE IF NOT
   * EXISTS ...`): it runs on every deploy, so it must be safe to repeat.
   */
  setupSql?: string;
  /** Days to keep published events for `pgbridge replay`; null or omitted keeps none. */
  retentionDays?: number | null;
  listener: ListenerLogin;
}

/**
 * What a deploy does with the owner's credentials so that the listener needs none of them:
 * the optional setup SQL, the install of exactly these watches, then the listener's login role
 * and its grants. Every step is idempotent, so a repeated or retried deploy changes nothing more.
 */
export async function applyManagedInstall(
  client: pg.ClientBase,
  { watches, setupSql, retentionDays, listener }: ManagedInstall,
): Promise<void> {
  // First, so that an unusable password stops the deploy before anything changed.
  const verifier = scramSha256Verifier(listener.password);
  if (setupSql) await client.query(setupSql);
  await install(client, watches, { retentionDays });
  await ensureListenerLogin(client, listener.roleName, verifier);
}
