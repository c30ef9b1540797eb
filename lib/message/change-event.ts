import { ACTIONS } from '../config/watch-config.ts';

/**
 * What an event says happened: a watch's actions, plus `read` for a row a backfill sent as it
 * is (Debezium's `r`, Sequin's `read`). Consumers see `read` only when their filter accepts it.
 */
export const EVENT_ACTIONS = [...ACTIONS, 'read'] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

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
  action: EventAction;
  label: string | null;
  /** Primary-key columns of the row; null for a table without a primary key, and for a truncate. */
  key: Partial<Row> | null;
  /** The new row (the old row for a delete), limited to the watch's payload columns; null for a truncate. Absent when truncated. */
  row?: Row | null;
  /** Updates: the previous values of the sent columns. */
  old?: Row | null;
  /** Updates: names of the sent columns whose value changed. */
  changed?: string[] | null;
  /** Postgres transaction id (decimal string): events of one transaction share it. */
  txid: string;
  /** When the transaction that made the change started (ISO 8601). */
  at: string;
  /** Present and true when the row was too large for the sink and no payload bucket is configured: fetch it by `key` instead. */
  truncated?: true;
  /**
   * Present only on the two events that stand for an UPDATE of the primary key: the `delete` of
   * the old key and the `insert` of the new one (same `txid`, consecutive ids).
   */
  key_change?: { old: Partial<Row>; new: Partial<Row> };
  /**
   * Present only on an update a `coalesce` watch merged from several updates of the row: how
   * many. `row` is the newest, `old` the first one's, `changed` every column any of them changed.
   */
  coalesced?: number;
  /** On a `read` event: the id of the backfill (`pgbridge backfill status`) that sent it. */
  backfill?: string;
  /** On a targeted event (a `--target` backfill's, or one replayed with `--target`): the one consumer it is for (also the `target` attribute). */
  target?: string;
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
export const MESSAGE_ATTRIBUTES = ['table', 'schema', 'action', 'label', 'target'] as const;
