import type pg from 'pg';
import { statement } from '../capture/sql-files.ts';
import type { Watch } from '../config/watch-config.ts';
import { renderTypes } from './render-types.ts';
import { readCatalog } from './table-catalog.ts';

export interface GeneratedTypes {
  /** The TypeScript module. */
  source: string;
  /** Watches that the database does not have installed as configured: their triggers send something else, or nothing yet. */
  notInstalled: string[];
}

/** TypeScript types for the events of `watches`, from the tables as they are in the database now. */
export async function generateTypes(client: pg.ClientBase, watches: Watch[]): Promise<GeneratedTypes> {
  const { tables, types } = await readCatalog(client, watches);
  return { source: renderTypes(watches, tables, types), notInstalled: await watchesNotInstalled(client, watches) };
}

async function watchesNotInstalled(client: pg.ClientBase, watches: Watch[]): Promise<string[]> {
  const { rows } = await client.query(statement('admin/schema-exists'));
  if (!rows[0].installed) return watches.map((watch) => watch.name);
  const installed = await client.query<{ name: string; installed: boolean }>(statement('types/installed-watches'), [
    JSON.stringify(watches),
  ]);
  return installed.rows.filter((row) => !row.installed).map((row) => row.name);
}
