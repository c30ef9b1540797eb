import { type ColumnValue, decodePgOutput, type RelationColumn } from './pgoutput-messages.ts';

/** One row of `pg_logical_slot_peek_binary_changes`. */
export interface SlotRow {
  /** Postgres' text form of the message's WAL position. */
  lsn: string;
  data: Buffer;
}

export interface Relation {
  oid: number;
  schema: string;
  table: string;
  columns: RelationColumn[];
}

/** A committed row change (or a table's truncate) as the WAL holds it. */
export interface WalChange {
  /** WAL position of the change; the first one of a round names the round (`pgbridge.wal_round`). */
  lsn: string;
  /** 32-bit transaction id, as pgoutput sends it. */
  xid: number;
  /** Commit time, microseconds since 2000-01-01 UTC. */
  commitTime: bigint;
  action: 'insert' | 'update' | 'delete' | 'truncate';
  relation: Relation;
  newRow?: ColumnValue[];
  /** Updates and deletes: every column, with REPLICA IDENTITY FULL (what pgbridge sets). */
  oldRow?: ColumnValue[];
  /** The old image holds the key columns only (the table's replica identity was changed from FULL). */
  oldIsKeyOnly?: boolean;
}

const JSON_TYPES = new Set([114, 3802]);

export interface DecodedRound {
  changes: WalChange[];
  /** End of the last commit read: what the slot may confirm once the changes are published. */
  lastCommitEnd?: bigint;
}

/**
 * Turns a round of slot rows into the committed changes they hold, in commit order.
 * `relations`: what the stream said of each table so far; pgoutput describes a table once per
 * session, before its first change, so the map lives as long as the stream and is read and
 * added to here, round after round, in stream order.
 */
export function decodeRound(rows: SlotRow[], relations: Map<number, Relation> = new Map()): DecodedRound {
  const changes: WalChange[] = [];
  let transaction: { xid: number; commitTime: bigint } | undefined;
  let lastCommitEnd: bigint | undefined;
  for (const row of rows) {
    const message = decodePgOutput(row.data);
    switch (message.type) {
      case 'begin':
        transaction = { xid: message.xid, commitTime: message.commitTime };
        break;
      case 'commit':
        lastCommitEnd = message.endLsn;
        transaction = undefined;
        break;
      case 'relation':
        relations.set(message.oid, { oid: message.oid, schema: message.schema, table: message.table, columns: message.columns });
        break;
      case 'insert':
      case 'update':
      case 'delete': {
        if (!transaction) throw new Error(`pgoutput: ${message.type} outside a transaction at ${row.lsn}`);
        const relation = relations.get(message.relation);
        if (!relation) throw new Error(`pgoutput: ${message.type} of unknown relation ${message.relation} at ${row.lsn}`);
        changes.push({
          lsn: row.lsn,
          ...transaction,
          action: message.type,
          relation,
          newRow: message.type === 'delete' ? undefined : message.newRow,
          oldRow: message.type === 'insert' ? undefined : message.oldRow,
          oldIsKeyOnly: message.type === 'insert' ? undefined : message.oldIsKeyOnly,
        });
        break;
      }
      case 'truncate': {
        if (!transaction) throw new Error(`pgoutput: truncate outside a transaction at ${row.lsn}`);
        for (const oid of message.relations) {
          const relation = relations.get(oid);
          if (relation) changes.push({ lsn: row.lsn, ...transaction, action: 'truncate', relation });
        }
        break;
      }
      default:
        break;
    }
  }
  return { changes, lastCommitEnd };
}

/**
 * A row image as JSON texts per column, straight from pgoutput's text output: json and jsonb as
 * themselves, every other value as a JSON string. A value the update left TOASTed and unchanged
 * comes from the old image. The input of `pgbridge.wal_column_values`, which turns the strings
 * into the values a trigger would send, and what is sent when Postgres cannot convert them.
 */
export function textValues(relation: Relation, values: ColumnValue[], old?: ColumnValue[]): Map<string, string> {
  const image = new Map<string, string>();
  relation.columns.forEach((column, index) => {
    let value = values[index];
    if (value?.kind === 'unchanged') value = old?.[index];
    if (!value || value.kind === 'unchanged') return;
    image.set(column.name, value.kind === 'null' ? 'null' : JSON_TYPES.has(column.typeOid) ? value.text : JSON.stringify(value.text));
  });
  return image;
}

/** `textValues` as one JSON object. */
export function imageJson(relation: Relation, values: ColumnValue[], old?: ColumnValue[]): string {
  return `{${[...textValues(relation, values, old)].map(([name, text]) => `${JSON.stringify(name)}:${text}`).join(',')}}`;
}
