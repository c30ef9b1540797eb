import type { ChangeEvent } from '../message/change-event.ts';

export type ChangeEventField = keyof ChangeEvent;

// A record rather than a list literal: the compiler refuses this file when ChangeEvent gains or
// loses a field, so body filters, templates and the consumers' parser cannot drift from the message.
const FIELDS: Record<ChangeEventField, true> = {
  id: true,
  schema: true,
  table: true,
  action: true,
  label: true,
  key: true,
  row: true,
  old: true,
  changed: true,
  txid: true,
  at: true,
  truncated: true,
  key_change: true,
  coalesced: true,
  backfill: true,
  target: true,
};

/** Top-level fields of a change event body (see ChangeEvent), in the order the listener writes them. */
export const CHANGE_EVENT_FIELDS = Object.keys(FIELDS) as readonly ChangeEventField[];

export function isChangeEventField(name: string): name is ChangeEventField {
  return (CHANGE_EVENT_FIELDS as readonly string[]).includes(name);
}
