import type pg from 'pg';
import { InstallError } from '../errors.ts';
import { statement } from './sql-files.ts';

const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * After an install: creates the logical replication slot that `"capture": "wal"` watches read
 * from when there is one and no slot yet, and drops the slot once no such watch is left (a slot
 * nobody reads keeps WAL on the server without limit). Outside the install's transaction:
 * Postgres creates a logical slot only in a transaction that has written nothing.
 */
export async function syncCaptureSlot(client: pg.ClientBase): Promise<void> {
  try {
    await client.query(statement('wal/create-slot'));
    await client.query(statement('wal/drop-unused-slot'));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const hint =
      code === INSUFFICIENT_PRIVILEGE
        ? ' (a "capture": "wal" watch needs a role with the REPLICATION attribute to create its slot: ALTER ROLE … REPLICATION, on RDS and Aurora GRANT rds_replication TO …)'
        : '';
    throw new InstallError(
      `the watches are installed, but their replication slot could not be set up: ${(error as Error).message}${hint}`,
      {
        cause: error,
      },
    );
  }
}
