/**
 * Postgres' built-in logical decoding output plugin, pgoutput, protocol version 1: the messages
 * `pg_logical_slot_peek_binary_changes` returns, one per row, as documented in "Logical
 * Replication Message Formats". pgoutput rather than wal2json or test_decoding: it ships with
 * every Postgres from 10 on, including RDS and Aurora, and needs no extension.
 */

/** A column value as pgoutput sends it: text output, SQL null, or a TOASTed value the change left as it was. */
export type ColumnValue = { kind: 'text'; text: string } | { kind: 'null' } | { kind: 'unchanged' };

export interface RelationColumn {
  name: string;
  typeOid: number;
  /** Part of the table's replica identity (its primary key, or every column with REPLICA IDENTITY FULL). */
  inIdentity: boolean;
}

export type PgOutputMessage =
  | { type: 'begin'; finalLsn: bigint; commitTime: bigint; xid: number }
  | { type: 'commit'; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { type: 'relation'; oid: number; schema: string; table: string; columns: RelationColumn[] }
  | { type: 'insert'; relation: number; newRow: ColumnValue[] }
  /** `oldRow`: the replica identity's values (all columns with REPLICA IDENTITY FULL), when the key changed or the identity is FULL. */
  | { type: 'update'; relation: number; oldRow?: ColumnValue[]; oldIsKeyOnly: boolean; newRow: ColumnValue[] }
  | { type: 'delete'; relation: number; oldRow: ColumnValue[]; oldIsKeyOnly: boolean }
  | { type: 'truncate'; relations: number[] }
  /** Origin, type and logical messages: nothing pgbridge sends. */
  | { type: 'other'; tag: string };

class Reader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  byte(): number {
    return this.data.readUInt8(this.offset++);
  }

  char(): string {
    return String.fromCharCode(this.byte());
  }

  int16(): number {
    const value = this.data.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    const value = this.data.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    const value = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  int64(): bigint {
    const value = this.data.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  cString(): string {
    const end = this.data.indexOf(0, this.offset);
    if (end < 0) throw new Error('pgoutput: unterminated string');
    const text = this.data.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return text;
  }

  bytes(length: number): Buffer {
    const slice = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  tuple(): ColumnValue[] {
    const count = this.int16();
    const values: ColumnValue[] = [];
    for (let i = 0; i < count; i++) {
      const kind = this.char();
      if (kind === 'n') values.push({ kind: 'null' });
      else if (kind === 'u') values.push({ kind: 'unchanged' });
      else if (kind === 't') values.push({ kind: 'text', text: this.bytes(this.int32()).toString('utf8') });
      // 'b' (binary) only comes with the `binary` option, which pgbridge never asks for.
      else throw new Error(`pgoutput: unexpected column kind ${JSON.stringify(kind)}`);
    }
    return values;
  }
}

/** Decodes one pgoutput message. */
export function decodePgOutput(data: Buffer): PgOutputMessage {
  const reader = new Reader(data);
  const tag = reader.char();
  switch (tag) {
    case 'B':
      return { type: 'begin', finalLsn: reader.int64(), commitTime: reader.int64(), xid: reader.uint32() };
    case 'C': {
      reader.byte(); // flags, unused
      return { type: 'commit', commitLsn: reader.int64(), endLsn: reader.int64(), commitTime: reader.int64() };
    }
    case 'R': {
      const oid = reader.uint32();
      const schema = reader.cString();
      const table = reader.cString();
      reader.byte(); // replica identity setting
      const count = reader.int16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < count; i++) {
        const flags = reader.byte();
        const name = reader.cString();
        const typeOid = reader.uint32();
        reader.int32(); // type modifier
        columns.push({ name, typeOid, inIdentity: (flags & 1) === 1 });
      }
      // An empty namespace stands for pg_catalog.
      return { type: 'relation', oid, schema: schema || 'pg_catalog', table, columns };
    }
    case 'I': {
      const relation = reader.uint32();
      reader.char(); // 'N'
      return { type: 'insert', relation, newRow: reader.tuple() };
    }
    case 'U': {
      const relation = reader.uint32();
      let marker = reader.char();
      let oldRow: ColumnValue[] | undefined;
      let oldIsKeyOnly = false;
      if (marker === 'K' || marker === 'O') {
        oldIsKeyOnly = marker === 'K';
        oldRow = reader.tuple();
        marker = reader.char();
      }
      if (marker !== 'N') throw new Error(`pgoutput: update without a new row (got ${JSON.stringify(marker)})`);
      return { type: 'update', relation, oldRow, oldIsKeyOnly, newRow: reader.tuple() };
    }
    case 'D': {
      const relation = reader.uint32();
      const marker = reader.char();
      return { type: 'delete', relation, oldIsKeyOnly: marker === 'K', oldRow: reader.tuple() };
    }
    case 'T': {
      const count = reader.int32();
      reader.byte(); // CASCADE / RESTART IDENTITY
      const relations: number[] = [];
      for (let i = 0; i < count; i++) relations.push(reader.uint32());
      return { type: 'truncate', relations };
    }
    default:
      return { type: 'other', tag };
  }
}

/** `0/177BB48`, Postgres' text form of a WAL position. */
export function lsnText(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The WAL position of Postgres' text form. */
export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  if (high === undefined || low === undefined) throw new Error(`not a WAL position: ${JSON.stringify(text)}`);
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/**
 * A pgoutput timestamp (microseconds since 2000-01-01 UTC) as `to_json(timestamptz)` writes it
 * in a UTC session: fractional digits only as many as needed, as Postgres does.
 */
export function timestampJson(microseconds: bigint): string {
  const ms = Number(microseconds / 1000n);
  const micros = Number(((microseconds % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const iso = new Date(POSTGRES_EPOCH_MS + ms).toISOString().slice(0, 19);
  const fraction = micros === 0 ? '' : `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
  return `"${iso}${fraction}+00:00"`;
}
