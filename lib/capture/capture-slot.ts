import type pg from 'pg';
import { InstallError } from '../errors.ts';
import { statement } from './sql-files.ts';

const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Before an install with a WAL watch: the logical replication slot its changes are read from,
 * so that it exists when the install commits (no change falls between a trigger dropped by the
 * install and the slot). Outside the install's transaction: Postgres creates a logical slot only
 * in a transaction that has written nothing. Returns the slot's name when it was created here
 * (an install that then fails drops it again).
 */
export async function createCaptureSlotFirst(client: pg.ClientBase): Promise<string | undefined> {
  try {
    await client.query(statement('wal/create-publication-first'));
    const { rows } = await client.query(statement('wal/create-slot-first'));
    return rows[0]?.created;
  } catch (error) {
    throw new InstallError(`install failed, nothing was changed: ${slotProblem(error)}`, { cause: error });
  }
}

/**
 * After an install: creates the slot if a WAL watch has none yet (an install script applied
 * without its first statement), and drops it once no such watch is left and no listener reads it
 * (a slot nobody reads keeps WAL on the server without limit; a listener that sees no WAL watch
 * any more lets go of it and drops it itself).
 */
export async function syncCaptureSlot(client: pg.ClientBase): Promise<void> {
  try {
    await client.query(statement('wal/create-slot'));
    await client.query(statement('wal/drop-unused-slot'));
  } catch (error) {
    throw new InstallError(`the watches are installed, but their replication slot could not be set up: ${slotProblem(error)}`, {
      cause: error,
    });
  }
}

function slotProblem(error: unknown): string {
  const hint =
    (error as { code?: string }).code === INSUFFICIENT_PRIVILEGE
      ? ' (a "capture": "wal" watch needs a role with the REPLICATION attribute to create its slot: ALTER ROLE … REPLICATION, on RDS and Aurora GRANT rds_replication TO …)'
      : '';
  return `${(error as Error).message}${hint}`;
}
