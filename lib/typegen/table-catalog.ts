import type pg from 'pg';
import { statement } from '../capture/sql-files.ts';
import type { Watch } from '../config/watch-config.ts';
import { ConfigError } from '../errors.ts';

export interface CatalogColumn {
  name: string;
  typeOid: string;
  /** As declared, with its modifier: `numeric(12,2)`, `character varying(80)`. */
  declaredType: string;
  /** Dimensions declared for an array column (Postgres does not enforce them); 0 when not declared. */
  dimensions: number;
  notNull: boolean;
  virtualGenerated: boolean;
  inPrimaryKey: boolean;
  comment: string | null;
}

export interface CatalogTable {
  schema: string;
  table: string;
  /** `schema.table` quoted as Postgres quotes identifiers. */
  sqlName: string;
  comment: string | null;
  columns: CatalogColumn[];
}

export interface CatalogAttribute {
  name: string;
  typeOid: string;
  dimensions: number;
}

export interface CatalogType {
  oid: string;
  schema: string;
  name: string;
  /** pg_type.typtype: b base, c composite, d domain, e enum, r range, m multirange, p pseudo. */
  kind: string;
  elementOid: string | null;
  baseOid: string | null;
  /** A domain's base type as declared: `integer`, `numeric(10,2)`. */
  baseType: string | null;
  notNull: boolean;
  labels: string[] | null;
  attributes: CatalogAttribute[] | null;
  castToJson: boolean;
}

/**
 * The watched tables, each once, and every type their columns need (element, base and attribute
 * types included). A watch whose table or columns do not exist fails the way `install` would.
 */
export async function readCatalog(
  client: pg.ClientBase,
  watches: Watch[],
): Promise<{ tables: CatalogTable[]; types: Map<string, CatalogType> }> {
  const tables = new Map<string, CatalogTable>();
  for (const watch of watches) {
    const id = `${watch.schema}.${watch.table}`;
    const table = tables.get(id) ?? (await readTable(client, watch));
    tables.set(id, table);
    assertColumnsExist(watch, table);
  }
  const types = await readTypes(
    client,
    [...tables.values()].flatMap((table) => table.columns.map((column) => column.typeOid)),
  );
  return { tables: [...tables.values()], types };
}

async function readTable(client: pg.ClientBase, watch: Watch): Promise<CatalogTable> {
  const { rows } = await client.query(statement('types/watched-table'), [watch.schema, watch.table]);
  const tableSql: string = rows[0].name;
  if (rows[0].kind === null) throw new ConfigError(`watch "${watch.name}": table ${tableSql} does not exist`);
  if (rows[0].kind !== 'r' && rows[0].kind !== 'p') {
    throw new ConfigError(`watch "${watch.name}": ${tableSql} is not a table (only tables and partitioned tables can be watched)`);
  }
  return { schema: watch.schema, table: watch.table, sqlName: tableSql, comment: rows[0].comment, columns: rows[0].columns };
}

function assertColumnsExist(watch: Watch, table: CatalogTable): void {
  const existing = table.columns.map((column) => column.name);
  for (const field of ['columns', 'payload', 'exclude'] as const) {
    const missing = watch[field]?.find((name) => !existing.includes(name));
    if (missing !== undefined) {
      throw new ConfigError(
        `watch "${watch.name}": ${field} column "${missing}" does not exist in ${table.sqlName} (columns: ${existing.join(', ')})`,
      );
    }
  }
  if (watch.payload?.every((name) => watch.exclude?.includes(name))) {
    throw new ConfigError(`watch "${watch.name}": every payload column is excluded, nothing would be sent`);
  }
}

/** Describes the given types and, level by level, the types they are made of. */
async function readTypes(client: pg.ClientBase, oids: string[]): Promise<Map<string, CatalogType>> {
  const types = new Map<string, CatalogType>();
  let wanted = [...new Set(oids)];
  while (wanted.length > 0) {
    const { rows } = await client.query<CatalogType>(statement('types/describe-types'), [wanted]);
    for (const type of rows) types.set(type.oid, type);
    const parts = rows.flatMap((type) => [type.elementOid, type.baseOid, ...(type.attributes ?? []).map((attribute) => attribute.typeOid)]);
    wanted = [...new Set(parts.filter((oid): oid is string => oid !== null && !types.has(oid)))];
  }
  return types;
}
