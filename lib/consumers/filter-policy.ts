import { z } from 'zod';
import { ACTIONS, type Action } from '../config/watch-config.ts';
import { MESSAGE_ATTRIBUTES } from '../message/change-event.ts';
import { CHANGE_EVENT_FIELDS, isChangeEventField } from './event-fields.ts';

/**
 * Which change events reach a consumer, in pgbridge terms. Conditions on different fields must
 * all match; a list matches any of its values. With `body`, the filter applies to the message
 * body (SNS `FilterPolicyScope: MessageBody`), so it can select one record by its key, like
 * subscribing to one row.
 */
export interface ChangeFilter {
  /** `users` or `shop.orders`; `users` matches that table in any schema. */
  table?: string | string[];
  action?: Action | Action[];
  /** The watch label, e.g. `plan_changed`. */
  label?: string | string[];
  /**
   * Conditions on the event body in SNS filter syntax, e.g. `{ key: { id: [42] } }` or
   * `{ row: { plan: ['pro'] } }`.
   */
  body?: Record<string, unknown>;
}

/** An SNS filter policy written by hand, for what ChangeFilter cannot say (`$or`, prefixes...). */
export interface RawFilterPolicy {
  raw: Record<string, unknown>;
  /** @default 'MessageAttributes' */
  scope?: FilterPolicyScope;
}

export type ConsumerFilter = ChangeFilter | RawFilterPolicy;
export type FilterPolicyScope = 'MessageAttributes' | 'MessageBody';

export interface FilterPolicy {
  policy: Record<string, unknown>;
  scope: FilterPolicyScope;
}

/** SNS refuses a policy whose value combinations exceed this. */
const MAX_COMBINATIONS = 150;

const oneOrMore = <T extends z.ZodType>(item: T, expected: string) =>
  z.union([item, z.array(item).min(1, 'cannot be an empty list')], { error: expected });

const changeFilterSchema = z.strictObject(
  {
    table: oneOrMore(z.string().regex(/^[^.]+(\.[^.]+)?$/), 'a table is "name" or "schema.name" (or a list of them)').optional(),
    action: oneOrMore(z.enum(ACTIONS), 'an action is "insert", "update" or "delete" (or a list of them)').optional(),
    label: oneOrMore(z.string().min(1), 'a label is a non-empty string (or a list of them)').optional(),
    body: z.record(z.string(), z.unknown()).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')} (a filter has table, action, label and body; use { raw, scope } for a hand-written SNS policy)` : undefined) },
);

const rawFilterSchema = z.strictObject({
  raw: z.record(z.string(), z.unknown()).refine((policy) => Object.keys(policy).length > 0, 'raw policy cannot be empty'),
  scope: z.enum(['MessageAttributes', 'MessageBody']).optional(),
});

/**
 * Turns a consumer's `filter` into the SNS filter policy of its subscription. Throws an Error
 * naming the problem: a field the listener never sets can only ever match nothing.
 */
export function buildFilterPolicy(filter: ConsumerFilter | undefined): FilterPolicy | undefined {
  if (filter === undefined) return undefined;
  if ('raw' in filter) return rawPolicy(filter);
  const parsed = changeFilterSchema.safeParse(filter);
  if (!parsed.success) throw new Error(describe(parsed.error));
  const { table, action, label, body } = parsed.data;

  const policy: Record<string, unknown> = {};
  if (table !== undefined) Object.assign(policy, tableConditions(list(table)));
  if (action !== undefined) policy.action = [...new Set(list(action))];
  if (label !== undefined) policy.label = list(label);
  if (body === undefined) {
    assertCombinations(policy);
    return Object.keys(policy).length ? { policy, scope: 'MessageAttributes' } : undefined;
  }
  for (const [field, condition] of Object.entries(body)) {
    if (field in policy) throw new Error(`filter.body.${field} repeats filter.${field}: give it in one place`);
    if (field !== '$or' && !isChangeEventField(field)) throw new Error(`filter.body.${field}: change events have no field "${field}" (fields: ${CHANGE_EVENT_FIELDS.join(', ')})`);
    policy[field] = condition;
  }
  assertCombinations(policy);
  return { policy, scope: 'MessageBody' };
}

function rawPolicy(filter: RawFilterPolicy): FilterPolicy {
  const parsed = rawFilterSchema.safeParse(filter);
  if (!parsed.success) throw new Error(describe(parsed.error));
  const scope = parsed.data.scope ?? 'MessageAttributes';
  const allowed: readonly string[] = scope === 'MessageAttributes' ? MESSAGE_ATTRIBUTES : CHANGE_EVENT_FIELDS;
  for (const field of Object.keys(parsed.data.raw)) {
    if (field !== '$or' && !allowed.includes(field)) {
      const where = scope === 'MessageAttributes' ? 'message attributes' : 'event bodies';
      throw new Error(`filter.raw.${field}: pgbridge ${where} have no "${field}" (they have ${allowed.join(', ')}), so this policy would match nothing`);
    }
  }
  return { policy: parsed.data.raw, scope };
}

/** `['users', 'shop.orders']` → table and schema conditions, when one schema condition can say it. */
function tableConditions(tables: string[]): Record<string, string[]> {
  const split = tables.map((name) => {
    const dot = name.indexOf('.');
    return dot === -1 ? { schema: undefined, table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
  });
  const schemas = new Set(split.map((entry) => entry.schema));
  if (schemas.size > 1) {
    throw new Error(`filter.table mixes schemas (${tables.join(', ')}): one subscription cannot pair each table with its schema; add one consumer per schema or write a raw policy with $or`);
  }
  const [schema] = schemas;
  return { table: [...new Set(split.map((entry) => entry.table))], ...(schema ? { schema: [schema] } : {}) };
}

function assertCombinations(policy: Record<string, unknown>): void {
  const combinations = Object.values(policy).reduce<number>((total, value) => total * (Array.isArray(value) ? Math.max(value.length, 1) : 1), 1);
  if (combinations > MAX_COMBINATIONS) throw new Error(`filter allows ${combinations} value combinations; SNS accepts at most ${MAX_COMBINATIONS}`);
}

function list<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `filter${issue.path.map((part) => `.${String(part)}`).join('')}: ${issue.message}`).join('; ');
}
