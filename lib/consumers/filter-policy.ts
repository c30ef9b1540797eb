import { z } from 'zod';
import { EVENT_ACTIONS, MESSAGE_ATTRIBUTES, type EventAction } from '../message/change-event.ts';
import { pathText, validate, valueText } from '../validation-problems.ts';
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
  /** `read` (a backfill's events) only reaches a consumer whose filter lists it. @default every action but `read` */
  action?: EventAction | EventAction[];
  /** The watch label, e.g. `plan_changed`. */
  label?: string | string[];
  /**
   * Conditions on the event body in SNS filter syntax, e.g. `{ key: { id: [42] } }` or
   * `{ row: { plan: ['pro'] } }`. Rows too large for SNS are sent as an S3 pointer, which a body
   * filter never matches.
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

// SNS refuses a subscription whose policy exceeds either limit ("Filter policy constraints" in
// the SNS developer guide). Keys are attribute names, or the top-level fields of a body policy
// (nested keys do not count); an `$or` is counted per alternative.
const MAX_COMBINATIONS = 150;
const MAX_KEYS = 5;

const oneOrMore = <T extends z.ZodType>(item: T, expected: string) =>
  z.union([item, z.array(item).min(1, 'cannot be an empty list')], {
    error: (issue) => {
      const bad = Array.isArray(issue.input) ? issue.input.find((value) => !item.safeParse(value).success) : issue.input;
      const got = valueText(bad);
      return got === undefined ? expected : `${expected} (got ${got})`;
    },
  });

const changeFilterSchema = z.strictObject(
  {
    table: oneOrMore(z.string().regex(/^[^.]+(\.[^.]+)?$/), 'a table is "name" or "schema.name" (or a list of them)').optional(),
    action: oneOrMore(
      z.enum(EVENT_ACTIONS),
      `an action is ${EVENT_ACTIONS.map((action) => `"${action}"`).join(', ')} (or a list of them)`,
    ).optional(),
    label: oneOrMore(z.string().min(1), 'a label is a non-empty string (or a list of them)').optional(),
    body: z.record(z.string(), z.unknown()).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')} (a filter has table, action, label and body; use { raw, scope } for a hand-written SNS policy)`
        : undefined,
  },
);

const rawFilterSchema = z.strictObject({
  raw: z.record(z.string(), z.unknown()).refine((policy) => Object.keys(policy).length > 0, 'raw policy cannot be empty'),
  scope: z.enum(['MessageAttributes', 'MessageBody']).optional(),
});

/**
 * Turns a consumer's `filter` into the SNS filter policy of its subscription. Throws an Error
 * naming the problem: a field the listener never sets can only ever match nothing.
 *
 * Every policy also honours `target`: a message that carries the attribute (a targeted
 * backfill's event) reaches only the consumer named `consumer`. A filter without `action`
 * leaves out `read` events (a backfill's), so a consumer opts in to them by listing `read`.
 */
export function buildFilterPolicy(filter: ConsumerFilter | undefined, consumer: string): FilterPolicy {
  const own =
    filter === undefined
      ? { policy: { action: EVERY_ACTION_BUT_READ }, scope: 'MessageAttributes' as const }
      : 'raw' in filter
        ? rawPolicy(filter)
        : changePolicy(filter);
  const policy = forConsumerOnly(own.policy, consumer);
  assertWithinSnsLimits(policy, filter !== undefined && 'raw' in filter ? 'filter.raw' : 'filter', ADDED_BY_PGBRIDGE);
  return { policy, scope: own.scope };
}

const EVERY_ACTION_BUT_READ = [{ 'anything-but': ['read'] }];
const ADDED_BY_PGBRIDGE = 'with the target condition pgbridge adds to every policy, and action when the filter has none';

/**
 * `target` absent, or naming this consumer. Within an `$or` of the filter's own, every
 * alternative is paired with both (SNS has one `$or` per level).
 */
function forConsumerOnly(policy: Record<string, unknown>, consumer: string): Record<string, unknown> {
  const targets = [{ target: [{ exists: false }] }, { target: [consumer] }];
  const { $or: choices, ...rest } = policy;
  if (!Array.isArray(choices)) return { ...policy, $or: targets };
  return { ...rest, $or: choices.flatMap((choice) => targets.map((target) => ({ ...(choice as Record<string, unknown>), ...target }))) };
}

function changePolicy(filter: ChangeFilter): { policy: Record<string, unknown>; scope: FilterPolicyScope } {
  const parsed = validate(changeFilterSchema, filter, { where: filterPath });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const { table, action, label, body } = parsed.data;

  const policy: Record<string, unknown> = {};
  if (table !== undefined) Object.assign(policy, tableConditions(list(table)));
  if (action !== undefined) policy.action = [...new Set(list(action))];
  if (label !== undefined) policy.label = list(label);
  for (const [field, condition] of Object.entries(body ?? {})) {
    if (field in policy) throw new Error(`filter.body.${field} repeats filter.${field}: give it in one place`);
    if (field !== '$or' && !isChangeEventField(field))
      throw new Error(`filter.body.${field}: change events have no field "${field}" (fields: ${CHANGE_EVENT_FIELDS.join(', ')})`);
    policy[field] = condition;
  }
  assertNoTarget(policy, 'filter.body');
  assertWithinSnsLimits(policy, 'filter');
  if (!('action' in policy)) policy.action = EVERY_ACTION_BUT_READ;
  return { policy, scope: body === undefined ? 'MessageAttributes' : 'MessageBody' };
}

/** `target` is pgbridge's to set (see buildFilterPolicy): a filter of the user's cannot widen it. */
function assertNoTarget(policy: Record<string, unknown>, where: string): void {
  if (alternatives(policy).some((branch) => 'target' in branch)) {
    throw new Error(`${where}.target: pgbridge sets the target condition itself, from the consumer's name; leave it out`);
  }
}

function rawPolicy(filter: RawFilterPolicy): FilterPolicy {
  const parsed = validate(rawFilterSchema, filter, { where: filterPath });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const scope = parsed.data.scope ?? 'MessageAttributes';
  const allowed: readonly string[] = scope === 'MessageAttributes' ? MESSAGE_ATTRIBUTES : CHANGE_EVENT_FIELDS;
  for (const field of Object.keys(parsed.data.raw)) {
    if (field !== '$or' && !allowed.includes(field)) {
      const where = scope === 'MessageAttributes' ? 'message attributes' : 'event bodies';
      throw new Error(
        `filter.raw.${field}: pgbridge ${where} have no "${field}" (they have ${allowed.join(', ')}), so this policy would match nothing`,
      );
    }
  }
  assertNoTarget(parsed.data.raw, 'filter.raw');
  assertWithinSnsLimits(parsed.data.raw, 'filter.raw');
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
    throw new Error(
      `filter.table mixes schemas (${tables.join(', ')}): one subscription cannot pair each table with its schema; add one consumer per schema or write a raw policy with $or`,
    );
  }
  const [schema] = schemas;
  return { table: [...new Set(split.map((entry) => entry.table))], ...(schema ? { schema: [schema] } : {}) };
}

function assertWithinSnsLimits(policy: Record<string, unknown>, where: string, added?: string): void {
  const branches = alternatives(policy);
  const widest = branches.reduce((most, branch) => (Object.keys(branch).length > Object.keys(most).length ? branch : most));
  const keys = Object.keys(widest);
  const counted = added ? ` ${added}` : '';
  if (keys.length > MAX_KEYS) {
    throw new Error(
      `${where} uses ${keys.length} keys${counted} (${keys.join(', ')}); SNS accepts at most ${MAX_KEYS} per policy: drop a condition and check it in the handler, or, in a body filter, group column conditions under one field (row: { plan: [...], status: [...] } is one key)`,
    );
  }
  const combinations = branches.reduce((total, branch) => total + valueCombinations(branch), 0);
  if (combinations > MAX_COMBINATIONS)
    throw new Error(`${where} allows ${combinations} value combinations${counted}; SNS accepts at most ${MAX_COMBINATIONS}`);
}

/** The policy without `$or`: one plain policy per way of choosing an alternative of each `$or`. */
function alternatives(policy: Record<string, unknown>): Array<Record<string, unknown>> {
  const { $or: choices, ...rest } = policy;
  if (!Array.isArray(choices)) return [policy];
  return choices.flatMap((choice) => alternatives({ ...rest, ...(choice as Record<string, unknown>) }));
}

/** The product of the number of values of every condition, nested body conditions included. */
function valueCombinations(condition: unknown): number {
  if (Array.isArray(condition)) return Math.max(condition.length, 1);
  if (condition === null || typeof condition !== 'object') return 1;
  return Object.values(condition).reduce<number>((total, value) => total * valueCombinations(value), 1);
}

function list<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function filterPath(path: PropertyKey[]): string {
  return pathText(['filter', ...path]);
}
