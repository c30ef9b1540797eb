import { createHash } from 'node:crypto';
import type { OutgoingMessage } from '../sinks/sink.ts';
import { messageSize } from '../sinks/sink.ts';
import { escapeJsonForAws, isValidAwsText } from './aws-text.ts';
import { fifoGroupId } from './fifo-group-id.ts';
import type { OutboxEvent } from './outbox-event.ts';
import { PAYLOAD_SIZE_ATTRIBUTE, payloadPointerBody } from './payload-pointer.ts';

export interface MessageLimits {
  fifo: boolean;
  maxMessageBytes: number;
  /** Where a body over the limit goes; without it, the message is sent truncated. */
  payloadBucket?: string;
}

export type BuiltMessage =
  | { ok: true; message: OutgoingMessage; truncated: boolean }
  /** The sink would refuse this event on every attempt. */
  | { ok: false; reason: string };

/** Turns an outbox event into the message the sink receives (the contract in the README). */
export function buildMessage(event: OutboxEvent, limits: MessageLimits): BuiltMessage {
  const attributes: Record<string, string> = {
    table: event.table_name,
    schema: event.schema_name,
    action: event.action,
  };
  if (event.label !== null) attributes.label = event.label;
  if (event.target !== null) attributes.target = event.target;
  for (const [name, value] of Object.entries(attributes)) {
    if (!isValidAwsText(value)) return { ok: false, reason: `attribute ${name} contains characters AWS does not accept` };
  }

  let body = escapeJsonForAws(withBackfillAndTarget(event.body, event));
  let truncated = false;
  if (messageSize(body, attributes) > limits.maxMessageBytes) {
    if (limits.payloadBucket)
      return { ok: true, message: offloadedMessage(event, body, attributes, limits, limits.payloadBucket), truncated: false };
    body = escapeJsonForAws(withBackfillAndTarget(truncatedBody(event), event));
    truncated = true;
    if (messageSize(body, attributes) > limits.maxMessageBytes) {
      return { ok: false, reason: `message exceeds ${limits.maxMessageBytes} bytes even without the row (key too large)` };
    }
  }

  const message: OutgoingMessage = { id: event.id, body, attributes };
  if (limits.fifo) message.groupId = fifoGroupId(event.schema_name, event.table_name, event.key_values);
  return { ok: true, message, truncated };
}

/**
 * The message for a body stored in S3: a pointer plus the size attribute, with pgbridge's own
 * attributes kept so filter policies still match. The key is the event id and the SHA-256 of
 * the body: a retry of the event writes the same bytes to the same key (an outage of the sink
 * does not pile up copies), while another event can never overwrite an object a delivered message
 * points to, even when event ids repeat after a point-in-time restore. The object of an attempt
 * that was never published is an orphan that the bucket's expiry removes.
 */
function offloadedMessage(
  event: OutboxEvent,
  body: string,
  attributes: Record<string, string>,
  limits: MessageLimits,
  bucket: string,
): OutgoingMessage {
  const key = `${event.id}-${createHash('sha256').update(body).digest('hex')}.json`;
  const message: OutgoingMessage = {
    id: event.id,
    body: payloadPointerBody({ bucket, key }),
    attributes,
    numberAttributes: { [PAYLOAD_SIZE_ATTRIBUTE]: String(Buffer.byteLength(body, 'utf8')) },
    offloaded: { bucket, key, body },
  };
  if (limits.fifo) message.groupId = fifoGroupId(event.schema_name, event.table_name, event.key_values);
  return message;
}

/** The event without `row`/`old`/`changed`: consumers fetch the row by `key`. */
function truncatedBody(event: OutboxEvent): string {
  return (
    `{"id":${JSON.stringify(event.id)},"schema":${JSON.stringify(event.schema_name)},` +
    `"table":${JSON.stringify(event.table_name)},"action":${JSON.stringify(event.action)},` +
    `"label":${JSON.stringify(event.label)},"key":${event.key ?? 'null'},"truncated":true,` +
    `"txid":${JSON.stringify(event.txid)},"at":${event.at}` +
    (event.key_change === null ? '' : `,"key_change":${event.key_change}`) +
    (event.coalesced === null ? '' : `,"coalesced":${event.coalesced}`) +
    '}'
  );
}

/**
 * A backfill's `read` event also names its backfill; a targeted event (a `--target` backfill's,
 * or any replayed with `--target`) its one consumer, in the body too, since a body-scope filter
 * policy checks pgbridge's target rule on the body. Spliced into the text, so that every other
 * event's body stays exactly as Postgres wrote it.
 */
function withBackfillAndTarget(body: string, event: OutboxEvent): string {
  if (event.backfill === null && event.target === null) return body;
  const backfill = event.backfill === null ? '' : `,"backfill":${JSON.stringify(event.backfill)}`;
  const target = event.target === null ? '' : `,"target":${JSON.stringify(event.target)}`;
  return `${body.slice(0, body.lastIndexOf('}'))}${backfill}${target}}`;
}
