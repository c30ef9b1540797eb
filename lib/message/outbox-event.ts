/** An outbox row as `sql/drain/fetch-events.sql` returns it. */
export interface OutboxEvent {
  id: string;
  schema_name: string;
  table_name: string;
  action: string;
  label: string | null;
  /** The backfill that wrote a `read` event, else null. */
  backfill: string | null;
  /** The one consumer a targeted backfill's event is for, else null. */
  target: string | null;
  /** JSON text of the primary key, or null. */
  key: string | null;
  /** Key values comma-joined, for the FIFO group id. */
  key_values: string | null;
  txid: string;
  /** JSON text of `{"old": key, "new": key}` on the two events of a primary-key change, else null. */
  key_change: string | null;
  /** How many updates a coalescing watch merged into this one, else null. */
  coalesced: number | null;
  /** JSON text (a quoted ISO timestamp). */
  at: string;
  /** The complete message body, JSON text. */
  body: string;
}
