import { z } from 'zod';
import { EVENT_ACTIONS, type ChangeEvent } from '../message/change-event.ts';
import { pathText, validate } from '../validation-problems.ts';
import type { ChangeEventField } from './event-fields.ts';
import { PermanentFailure } from './permanent-failure.ts';

/**
 * The envelope every pgbridge message body has; row contents are the consumer's own type. One
 * entry per field of CHANGE_EVENT_FIELDS, checked by the compiler.
 */
const changeEventSchema = z.looseObject({
  id: z.string().regex(/^\d+$/),
  schema: z.string(),
  table: z.string(),
  action: z.enum(EVENT_ACTIONS),
  label: z.string().nullable(),
  key: z.record(z.string(), z.unknown()).nullable(),
  row: z.record(z.string(), z.unknown()).nullable().optional(),
  old: z.record(z.string(), z.unknown()).nullable().optional(),
  changed: z.array(z.string()).nullable().optional(),
  txid: z.string(),
  at: z.string(),
  truncated: z.literal(true).optional(),
  key_change: z.object({ old: z.record(z.string(), z.unknown()), new: z.record(z.string(), z.unknown()) }).optional(),
  coalesced: z.number().int().min(2).optional(),
  backfill: z.string().regex(/^\d+$/).optional(),
  target: z.string().optional(),
} satisfies Record<ChangeEventField, z.ZodType>);

// Row values may be personal data: an error that ends up in logs names their field only.
const isRowData = (path: PropertyKey[]) => path[0] === 'row' || path[0] === 'old' || path[0] === 'key';

/** Parses an SQS message body into a change event; a body that is not one will never become one. */
export function parseChangeEvent<Row>(body: string): ChangeEvent<Row> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new PermanentFailure(`message body is not JSON: ${(error as Error).message}`);
  }
  if (isSnsEnvelope(json)) {
    throw new PermanentFailure(
      'message body is an SNS notification envelope, not a change event: subscribe the queue with raw message delivery (RawMessageDelivery: true), as the pgbridge constructs do',
    );
  }
  const result = validate(changeEventSchema, json, { where: (path) => pathText(path) || 'body', conceal: isRowData });
  if (!result.ok) throw new PermanentFailure(`message body is not a pgbridge change event (${result.problems.join('; ')})`);
  return result.data as unknown as ChangeEvent<Row>;
}

/** What SNS delivers to a queue subscribed without raw message delivery: the event is inside `Message`. */
function isSnsEnvelope(json: unknown): boolean {
  return (
    typeof json === 'object' &&
    json !== null &&
    (json as { Type?: unknown }).Type === 'Notification' &&
    'TopicArn' in json &&
    'Message' in json
  );
}
