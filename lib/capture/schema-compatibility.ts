import type pg from 'pg';
import { SchemaVersionError } from '../errors.ts';
import { latestSchemaVersion } from './migrations.ts';
import { statement } from './sql-files.ts';

export interface SchemaVersionState {
  /** Newest migration recorded in the database (1: installed before versions were recorded). */
  installed: number;
  /** What this code needs and knows. */
  known: number;
}

/**
 * Refuses a schema this listener cannot drain correctly: older than its queries need (not
 * upgraded yet), or carrying a migration marked breaking that it does not know (a newer
 * version has changed what listeners rely on). A newer schema without such a migration is
 * fine, so during a rolling deploy the old listener keeps draining beside the new one.
 */
export async function assertSchemaCompatible(client: pg.ClientBase): Promise<SchemaVersionState> {
  const known = latestSchemaVersion();
  const { rows } = await client.query(statement('migrate/has-version-table'));
  if (!rows[0].recorded) throw tooOld(1, known);
  const state = (await client.query(statement('migrate/version-state'))).rows[0];
  const installed = Number(state.installed);
  const breaking = Number(state.breaking);
  if (installed < known) throw tooOld(installed, known);
  if (breaking > known) {
    throw new SchemaVersionError(
      `the pgbridge schema is at version ${installed}, and version ${breaking} changed it in a way this pgbridge (which knows up to version ${known}) cannot work with: use the pgbridge version that installed it`,
    );
  }
  return { installed, known };
}

function tooOld(installed: number, known: number): SchemaVersionError {
  return new SchemaVersionError(
    `the pgbridge schema is at version ${installed}, this pgbridge needs version ${known}: upgrade it first with \`pgbridge install\` of this version (or deploy its installer)`,
  );
}
