import type { CatalogType } from './table-catalog.ts';
import { propertyKey } from './type-names.ts';

/** The TypeScript type of a value as Postgres writes it in JSON, and whether it can be null. */
export interface JsonValueType {
  type: string;
  /** A NOT NULL domain forbids null whatever the column says. */
  notNull: boolean;
  /** What the reader should know about the form (e.g. that JSON.parse rounds a bigint). */
  note?: string;
}

const BIGINT_NOTE =
  'a JSON number with every digit: JSON.parse rounds values beyond ±2^53 (9007199254740991); parse the body with a lossless JSON parser if they can be that large';
const NUMERIC_NOTE =
  "a JSON number with every digit (JSON.parse keeps about 15 significant digits; use a lossless JSON parser for more), or 'NaN' / 'Infinity' / '-Infinity' as strings";
const FLOAT_NOTE = "a JSON number, or 'NaN' / 'Infinity' / '-Infinity' as strings";

/**
 * Postgres' own JSON output (row_to_json, to_jsonb) writes booleans, integers, floating-point and
 * numeric values, json and jsonb as JSON; every other type as the string its output function gives.
 */
const BUILT_IN: Record<string, { type: string; note?: string }> = {
  bool: { type: 'boolean' },
  int2: { type: 'number' },
  int4: { type: 'number' },
  int8: { type: 'number', note: BIGINT_NOTE },
  float4: { type: 'PgNumber', note: FLOAT_NOTE },
  float8: { type: 'PgNumber', note: FLOAT_NOTE },
  numeric: { type: 'PgNumber', note: NUMERIC_NOTE },
  json: { type: 'Json' },
  jsonb: { type: 'Json' },
  bytea: { type: 'string', note: 'hex: \\x followed by two hex digits per byte' },
  timestamptz: { type: 'string', note: "ISO 8601 with the UTC offset (2026-01-02T01:04:05.123456+00:00), or 'infinity' / '-infinity'" },
  timestamp: { type: 'string', note: "ISO 8601 without an offset (2026-01-02T03:04:05.123456), or 'infinity' / '-infinity'" },
  date: { type: 'string', note: "YYYY-MM-DD, or 'infinity' / '-infinity'" },
};

/**
 * The JSON type of one column or attribute of type `oid`. `dimensions` is the column's declared
 * array depth (0 when undeclared, as for a domain over an array: one level then).
 */
export function jsonValueType(types: Map<string, CatalogType>, oid: string, dimensions = 0): JsonValueType {
  const value = baseJsonValueType(types, oid, dimensions);
  const type = describedType(types, oid);
  if (type.kind !== 'd') return value;
  return { ...value, note: [`domain over ${type.baseType}`, value.note].filter(Boolean).join(': ') };
}

function baseJsonValueType(types: Map<string, CatalogType>, oid: string, dimensions: number): JsonValueType {
  let type = describedType(types, oid);
  let notNull = false;
  while (type.kind === 'd') {
    notNull ||= type.notNull;
    type = describedType(types, type.baseOid!);
  }
  if (type.elementOid !== null) {
    const element = jsonValueType(types, type.elementOid);
    const elementType = element.notNull ? element.type : `${element.type} | null`;
    const level = /^[\w.]+$/.test(elementType) ? `${elementType}[]` : `(${elementType})[]`;
    return { type: level + '[]'.repeat(Math.max(dimensions, 1) - 1), notNull, note: element.note && `elements: ${element.note}` };
  }
  if (type.kind === 'e') {
    return { type: type.labels!.length ? type.labels!.map((label) => JSON.stringify(label)).join(' | ') : 'never', notNull };
  }
  if (type.kind === 'c') {
    // Attributes of a composite type cannot be declared NOT NULL: every one may be null.
    const fields = type.attributes!.map((attribute) => {
      const field = jsonValueType(types, attribute.typeOid, attribute.dimensions);
      return `${propertyKey(attribute.name)}: ${field.notNull ? field.type : `${field.type} | null`}`;
    });
    return { type: `{ ${fields.join('; ')} }`, notNull };
  }
  if (type.castToJson) return { type: 'Json', notNull, note: `written through its cast to json` };
  const builtIn = type.schema === 'pg_catalog' ? BUILT_IN[type.name] : undefined;
  return { type: builtIn?.type ?? 'string', notNull, note: builtIn?.note };
}

function describedType(types: Map<string, CatalogType>, oid: string): CatalogType {
  const type = types.get(oid);
  // readCatalog describes every type a column is made of; a gap is a bug, not bad input.
  if (!type) throw new Error(`type ${oid} was not read from the catalog`);
  return type;
}
