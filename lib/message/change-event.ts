import type { Action } from '../config/watch-config.ts';

/**
 * The body of every message pgbridge publishes (JSON). Values are Postgres' own JSON output:
 * bigint and numeric columns arrive as JSON numbers with every digit, so parse them with a
 * lossless JSON parser if they may exceed 2^53.
 */
export interface ChangeEvent<Row = Record<string, unknown>> {
  /** Event id: decimal string, unique and increasing per database (allocation order). */
  id: string;
  schema: string;
  table: string;
  action: Action;
  label: string | null;
  /** Primary-key columns of the row; null for a table without a primary key. */
  key: Partial<Row> | null;
  /** The new row (the old row for a delete), limited to the watch's payload columns. Absent when truncated. */
  row?: Row;
  /** Updates: the previous values of the sent columns. */
  old?: Row | null;
  /** Updates: names of the sent columns whose value changed. */
  changed?: string[] | null;
  /** Postgres transaction id (decimal string): events of one transaction share it. */
  txid: string;
  /** When the transaction that made the change started (ISO 8601). */
  at: string;
  /** Present and true when the row was too large for the sink: fetch it by `key` instead. */
  truncated?: true;
}

/** The fields every change event has, whether typed by `ChangeEvent<Row>` or by `pgbridge types`. */
interface ChangeEventEnvelope {
  id: string;
  schema: string;
  table: string;
  action: string;
  label: string | null;
  txid: string;
  at: string;
}

/**
 * An event type for a type argument that is either a row (`ChangeEvent<Row>`) or already an event
 * type, such as the `PgBridgeEvent` union that `pgbridge types` writes (kept as it is, so that
 * checking `table`, `label` or `action` narrows `row`).
 */
export type EventOf<RowOrEvent> = [RowOrEvent] extends [ChangeEventEnvelope] ? RowOrEvent : ChangeEvent<RowOrEvent>;

/** Message attributes, all of type String: what SNS filter policies match on. */
export const MESSAGE_ATTRIBUTES = ['table', 'schema', 'action', 'label'] as const;
