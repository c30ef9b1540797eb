import type { Action, Watch } from '../config/watch-config.ts';
import type { OutboxEvent } from '../message/outbox-event.ts';
import { timestampJson } from './pgoutput-messages.ts';
import type { WalChange } from './wal-changes.ts';

/** A `"capture": "wal"` watch as the listener applies it (sql/wal/watches.sql). */
export interface WalWatch
  extends Pick<Watch, 'name' | 'schema' | 'table' | 'label' | 'actions' | 'columns' | 'payload' | 'exclude' | 'when'> {
  tableOid: number;
  /** Primary-key columns in key order; null without a primary key. */
  keyColumns: string[] | null;
}

/** Column name to JSON text, in the table's column order. */
export type RowValues = Map<string, string>;

/** A change's images as Postgres converted them. */
export interface ChangeImages {
  newRow?: RowValues;
  oldRow?: RowValues;
}

/** An event of a WAL round before it has an id; `row` and `old` are kept for parking and retention. */
export interface WalEvent {
  watch: WalWatch;
  change: WalChange;
  action: Action;
  key: string | null;
  keyValues: string | null;
  row: string | null;
  old: string | null;
  changed: string | null;
  keyChange: string | null;
}

/**
 * The events a watch sends for one change, with the trigger's rules: the watch's actions; an
 * update only when a column the watch looks at changed (`columns`, else the sent ones); an
 * update of the primary key as a delete of the old key and an insert of the new one.
 */
export function eventsOf(change: WalChange, images: ChangeImages, watch: WalWatch): WalEvent[] {
  if (change.action === 'truncate') {
    if (!watch.actions.includes('truncate')) return [];
    return [{ watch, change, action: 'truncate', key: null, keyValues: null, row: null, old: null, changed: null, keyChange: null }];
  }
  if (!watch.actions.includes(change.action)) return [];
  const newRow = images.newRow;
  const oldRow = images.oldRow;
  const sent = (values: RowValues) => sentColumns(values, watch);
  const base = { watch, change, changed: null, keyChange: null };
  if (change.action === 'insert')
    return [{ ...base, action: 'insert', ...keyOf(newRow!, watch), row: objectJson(newRow!, sent(newRow!)), old: null }];
  if (change.action === 'delete')
    return [{ ...base, action: 'delete', ...keyOf(oldRow!, watch), row: objectJson(oldRow!, sent(oldRow!)), old: null }];

  const sentNames = sent(newRow!);
  if (!oldRow) {
    // Without the old image (the table's replica identity was changed from FULL behind
    // pgbridge's back) nothing can be compared: the update is sent, without `old`.
    return [{ ...base, action: 'update', ...keyOf(newRow!, watch), row: objectJson(newRow!, sentNames), old: null }];
  }
  const looked = watch.columns ?? (watch.payload || watch.exclude ? sentNames : [...newRow!.keys()]);
  if (!looked.some((name) => newRow!.get(name) !== oldRow.get(name))) return [];

  const newKey = keyOf(newRow!, watch);
  const oldKey = keyOf(oldRow, watch);
  if (newKey.key !== null && newKey.keyValues !== oldKey.keyValues) {
    const keyChange = `{"old":${oldKey.key},"new":${newKey.key}}`;
    return [
      { ...base, action: 'delete', ...oldKey, row: objectJson(oldRow, sent(oldRow)), old: null, keyChange },
      { ...base, action: 'insert', ...newKey, row: objectJson(newRow!, sentNames), old: null, keyChange },
    ];
  }
  const changedNames = sentNames.filter((name) => newRow!.get(name) !== oldRow.get(name));
  return [
    {
      ...base,
      action: 'update',
      ...newKey,
      row: objectJson(newRow!, sentNames),
      old: objectJson(
        oldRow,
        sentNames.filter((name) => oldRow.has(name)),
      ),
      changed: JSON.stringify(changedNames),
    },
  ];
}

/** An explicit payload in its own order (as the trigger's json_build_object), else the table's order. */
function sentColumns(values: RowValues, watch: WalWatch): string[] {
  const exclude = new Set(watch.exclude ?? []);
  const names = watch.payload ?? [...values.keys()];
  return names.filter((name) => !exclude.has(name) && values.has(name));
}

function objectJson(values: RowValues, names: string[]): string {
  return `{${names.map((name) => `${JSON.stringify(name)}:${values.get(name)}`).join(',')}}`;
}

/** The key as JSON, and its values comma-joined as json_each_text gives them (the FIFO group id). */
function keyOf(values: RowValues, watch: WalWatch): { key: string | null; keyValues: string | null } {
  if (!watch.keyColumns) return { key: null, keyValues: null };
  const texts = watch.keyColumns.map((name) => {
    const json = values.get(name) ?? 'null';
    return json.startsWith('"') ? (JSON.parse(json) as string) : json;
  });
  return { key: objectJson(values, watch.keyColumns), keyValues: texts.join(',') };
}

/** The 64-bit transaction id (as txid_current() reports it) of a 32-bit one, given the server's next one. */
export function fullTransactionId(xid: number, nextFullXid: bigint): bigint {
  const epoch = nextFullXid >> 32n;
  const nextLow = Number(nextFullXid & 0xffffffffn);
  // Every decoded transaction is older than the next id: a low part at or above the next one's
  // belongs to the previous epoch.
  return ((xid >= nextLow ? epoch - 1n : epoch) << 32n) | BigInt(xid);
}

/** The event as the drain's message builder takes it, its body in the outbox's layout. */
export function outboxEventOf(event: WalEvent, id: string, nextFullXid: bigint): OutboxEvent {
  const txid = fullTransactionId(event.change.xid, nextFullXid).toString();
  const at = timestampJson(event.change.commitTime);
  const { watch } = event;
  const body =
    `{"id":${JSON.stringify(id)},"schema":${JSON.stringify(watch.schema)},"table":${JSON.stringify(watch.table)},` +
    `"action":${JSON.stringify(event.action)},"label":${JSON.stringify(watch.label)},"key":${event.key ?? 'null'},` +
    `"row":${event.row ?? 'null'},"old":${event.old ?? 'null'},"changed":${event.changed ?? 'null'},` +
    `"txid":${JSON.stringify(txid)},"at":${at}` +
    (event.keyChange === null ? '' : `,"key_change":${event.keyChange}`) +
    '}';
  return {
    id,
    schema_name: watch.schema,
    table_name: watch.table,
    action: event.action,
    label: watch.label,
    backfill: null,
    target: null,
    key: event.key,
    key_values: event.keyValues,
    txid,
    key_change: event.keyChange,
    coalesced: null,
    at,
    body,
  };
}
