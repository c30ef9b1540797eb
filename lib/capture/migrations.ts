import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { SQL_DIR, statement } from './sql-files.ts';

/** One numbered file of `sql/migrations/`: a change to the schema's tables, applied once. */
export interface Migration {
  version: number;
  name: string;
  /** Older listeners cannot work with the schema once this is applied; they refuse to start. */
  breaking: boolean;
  sql: string;
}

const MIGRATIONS_DIR = join(SQL_DIR, 'migrations');
const FILE_NAME = /^(\d{3})-([a-z0-9-]+)\.sql$/;
const BREAKING_HEADER = /^-- breaking: (true|false)\n/;

let loaded: Migration[] | undefined;

/** Every migration, in version order. Version 1 is the baseline `sql/001-schema.sql`. */
export function migrations(): Migration[] {
  loaded ??= readdirSync(MIGRATIONS_DIR)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const name = FILE_NAME.exec(file);
      const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
      const header = BREAKING_HEADER.exec(sql);
      // A packaging mistake, not a user's: fail loudly before anything touches the database.
      if (!name || !header) throw new Error(`sql/migrations/${file}: expected NNN-name.sql starting with "-- breaking: true|false"`);
      return { version: Number(name[1]), name: name[2]!, breaking: header[1] === 'true', sql };
    });
  return loaded;
}

/** The schema version this code installs and needs: the newest migration it ships. */
export function latestSchemaVersion(): number {
  return migrations().at(-1)?.version ?? 1;
}

/** Applies the migrations the database has not recorded, in order, in the caller's transaction. */
export async function applyMigrations(client: pg.ClientBase): Promise<void> {
  for (const migration of migrations()) {
    await client.query(statement('migrate/apply-migration'), [migration.version, migration.name, migration.breaking, migration.sql]);
  }
}

/** The same as `applyMigrations`, as SQL for `pgbridge sql` (standard_conforming_strings on). */
export function migrationScript(): string {
  return migrations()
    .map(
      (migration) =>
        `SELECT pgbridge.apply_migration(${migration.version}, ${literal(migration.name)}, ${migration.breaking}, ${literal(migration.sql)});`,
    )
    .join('\n');
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
