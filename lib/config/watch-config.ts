import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { pathText, validate, valueText } from '../validation-problems.ts';
import { rowConditionProblem } from './row-condition.ts';

/** What a watch captures when `actions` is left out: every row change. */
export const ROW_ACTIONS = ['insert', 'update', 'delete'] as const;
export const ACTIONS = [...ROW_ACTIONS, 'truncate'] as const;
export type Action = (typeof ACTIONS)[number];

const columnList = (what: string) =>
  z
    .array(
      z
        .string({ error: (issue) => `a column name is a string (got ${valueText(issue.input) ?? 'a list or object'})` })
        .min(1, 'a column name cannot be empty'),
      {
        error: (issue) => `${what} must be a list of column names (got ${valueText(issue.input) ?? 'an object'})`,
      },
    )
    .check((context) => {
      const twice = context.value.find((name, index) => context.value.indexOf(name) !== index);
      if (twice !== undefined)
        context.issues.push({ code: 'custom', input: context.value, message: `${what} lists ${JSON.stringify(twice)} twice` });
    });

const COALESCE_WINDOW = /^(\d+)(ms|s|m)$/;
// Past a few minutes a held update is a delayed one rather than a merged one.
const MAX_COALESCE_MS = 5 * 60_000;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

function windowMs(window: string): number {
  const [, amount, unit] = COALESCE_WINDOW.exec(window) ?? [];
  return Number(amount) * (UNIT_MS[unit as keyof typeof UNIT_MS] ?? NaN);
}

const between = (value: number, min: number, max: number) => value >= min && value <= max;

const watchFields = {
  table: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'table is required: "name" or "schema.name"'
          : `table must be a string "name" or "schema.name" (got ${valueText(issue.input) ?? 'a list or object'})`,
    })
    .min(1, 'table cannot be empty'),
  schema: z.string().min(1).optional(),
  actions: z
    .array(
      z.enum(ACTIONS, { error: (issue) => `${valueText(issue.input) ?? 'a list or object'} is not an action (${ACTIONS.join(', ')})` }),
      {
        error: (issue) => `actions must be a list of ${ACTIONS.join(', ')} (got ${valueText(issue.input) ?? 'an object'})`,
      },
    )
    .min(1, 'actions cannot be empty')
    .optional(),
  columns: columnList('columns').min(1, 'columns cannot be empty (leave it out to react to any change)').optional(),
  payload: columnList('payload').min(1, 'payload cannot be empty (leave it out to send every column)').optional(),
  exclude: columnList('exclude').optional(),
  when: z
    .string({
      error: (issue) => `when must be an SQL condition on NEW and OLD, as a string (got ${valueText(issue.input) ?? 'a list or object'})`,
    })
    .trim()
    .min(1, 'when cannot be empty (leave it out to capture every row)')
    .superRefine((condition, context) => {
      const problem = rowConditionProblem(condition);
      if (problem) context.addIssue({ code: 'custom', message: `${problem} (in ${JSON.stringify(condition)})` });
    })
    .optional(),
  coalesce: z
    .string({
      error: (issue) => `coalesce must be a duration such as "2s" or "500ms" (got ${valueText(issue.input) ?? 'a list or object'})`,
    })
    .regex(COALESCE_WINDOW, { error: (issue) => `coalesce must be a duration such as "2s" or "500ms" (got ${valueText(issue.input)})` })
    .refine((window) => between(windowMs(window), 10, MAX_COALESCE_MS), {
      error: (issue) => `coalesce must be between 10ms and 5m (got ${valueText(issue.input)})`,
    })
    .optional(),
  capture: z
    .enum(['statement', 'row', 'wal'], {
      error: (issue) => `capture must be "row", "statement" or "wal" (got ${valueText(issue.input) ?? 'a list or object'})`,
    })
    .optional(),
  label: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, {
      error: (issue) => `${valueText(issue.input)} is not a label: use 1-64 letters, digits or _ . : - (it becomes a message attribute)`,
    })
    .optional(),
};

/** One entry of `watches` in pgbridge.config.json, as users write it. */
export const watchSchema = z
  .strictObject(watchFields, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys')
        return `unknown field ${quotedList(issue.keys)} (a watch has ${Object.keys(watchFields).join(', ')})`;
      if (issue.code === 'invalid_type')
        return `a watch is an object such as { "table": "users" } (got ${valueText(issue.input) ?? 'a list'})`;
      return undefined;
    },
  })
  .refine((watch) => watch.coalesce === undefined || (watch.actions ?? ROW_ACTIONS).includes('update'), {
    message: 'coalesce merges updates: actions must include "update"',
    path: ['coalesce'],
  })
  // Merging needs the outbox row a WAL watch does not write.
  .refine((watch) => watch.capture !== 'wal' || watch.coalesce === undefined, {
    message: '"capture": "wal" cannot take "coalesce" (merging happens in the outbox): leave one of them out',
    path: ['coalesce'],
  });

/** `"7d"`: whole days, since published events are kept in daily partitions. */
const retentionSchema = z
  .string({ error: (issue) => `retention must be a number of days such as "7d" (got ${valueText(issue.input) ?? 'a list or object'})` })
  .regex(/^[1-9]\d{0,3}d$/, {
    error: (issue) => `${valueText(issue.input)} is not a retention: use a number of days from "1d" to "3650d", such as "7d"`,
  })
  .transform((text) => Number(text.slice(0, -1)))
  .refine((days) => days <= 3650, { error: (issue) => `retention of ${valueText(issue.input)} days is more than 3650 ("3650d")` });

export const configSchema = z.strictObject(
  {
    retention: retentionSchema.optional(),
    watches: z
      .array(watchSchema, {
        error: (issue) =>
          issue.input === undefined
            ? 'watches is required: a list of watches'
            : `watches must be a list (got ${valueText(issue.input) ?? 'an object'})`,
      })
      .min(1, 'declare at least one watch'),
  },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown field ${quotedList(issue.keys)} (the config has "watches" and "retention")`;
      if (issue.code === 'invalid_type') return `the config is an object { "watches": [...] } (got ${valueText(issue.input) ?? 'a list'})`;
      return undefined;
    },
  },
);

function quotedList(names: string[]): string {
  return names.map((name) => JSON.stringify(name)).join(', ');
}

export type WatchConfig = z.input<typeof watchSchema>;
export type PgBridgeConfig = z.input<typeof configSchema>;

/** A watch after validation: what the capture SQL receives. */
export interface Watch {
  /** `schema.table`, or `schema.table#label`: unique per database. */
  name: string;
  schema: string;
  table: string;
  label: string | null;
  actions: Action[];
  columns?: string[];
  payload?: string[];
  exclude?: string[];
  /** SQL condition on NEW/OLD: the trigger's WHEN clause (a WAL watch's: evaluated by the listener, in Postgres). */
  when?: string;
  /** Window in milliseconds within which updates of one row are merged into one event. */
  coalesce?: number;
  /**
   * `statement`: statement-level triggers where they can capture (tables written many rows per
   * statement); per row otherwise. `wal`: no trigger, the listener reads the table's changes
   * from a logical replication slot (needs wal_level = logical).
   */
  capture?: 'statement' | 'wal';
}

/** A whole pgbridge.config.json after validation. */
export interface BridgeConfig {
  watches: Watch[];
  /** Days published events are kept for `pgbridge replay`; null: none are kept. */
  retentionDays: number | null;
}

/** Validates a parsed config object; throws ConfigError naming every problem found. */
export function parseBridgeConfig(input: unknown, source = 'config'): BridgeConfig {
  const result = validate(configSchema, input, { where: (path) => describePath(input, path) });
  if (!result.ok) throw new ConfigError(`invalid ${source}:\n  - ${result.problems.join('\n  - ')}`, { problems: result.problems });
  const watches = result.data.watches.map(normaliseWatch);
  assertUniqueNames(watches, source);
  return { watches, retentionDays: result.data.retention ?? null };
}

/** The watches of a config (see `parseBridgeConfig` for the whole of it). */
export function parseConfig(input: unknown, source = 'config'): Watch[] {
  return parseBridgeConfig(input, source).watches;
}

function normaliseWatch(entry: z.output<typeof watchSchema>): Watch {
  let schema = entry.schema;
  let table = entry.table;
  if (schema === undefined) {
    const dot = table.indexOf('.');
    schema = dot === -1 ? 'public' : table.slice(0, dot);
    table = dot === -1 ? table : table.slice(dot + 1);
  }
  const label = entry.label ?? null;
  const watch: Watch = {
    name: `${schema}.${table}${label ? `#${label}` : ''}`,
    schema,
    table,
    label,
    // Canonical order, so that reordering the list in the config is not a change to re-install.
    actions: ACTIONS.filter((action) => (entry.actions ?? (ROW_ACTIONS as readonly Action[])).includes(action)),
  };
  if (entry.columns) watch.columns = entry.columns;
  if (entry.payload) watch.payload = entry.payload;
  if (entry.exclude?.length) watch.exclude = entry.exclude;
  if (entry.when !== undefined) watch.when = entry.when;
  if (entry.coalesce !== undefined) watch.coalesce = windowMs(entry.coalesce);
  // Only the non-default is kept, so that watches installed before the option are not re-created.
  if (entry.capture === 'statement' || entry.capture === 'wal') watch.capture = entry.capture;
  return watch;
}

function assertUniqueNames(watches: Watch[], source: string): void {
  const seen = new Set<string>();
  for (const watch of watches) {
    if (seen.has(watch.name)) {
      const fix = watch.label ? `label "${watch.label}" is used twice on this table` : 'several watches on one table need distinct labels';
      const problem = `watch "${watch.name}" is declared twice (${fix})`;
      throw new ConfigError(`invalid ${source}: ${problem}`, { problems: [problem] });
    }
    seen.add(watch.name);
  }
}

function describePath(input: unknown, path: PropertyKey[]): string {
  if (path[0] !== 'watches' || typeof path[1] !== 'number') return pathText(path);
  const entry = (input as { watches?: unknown[] }).watches?.[path[1]] as { table?: unknown } | undefined;
  const table = typeof entry?.table === 'string' ? ` (${entry.table})` : '';
  const rest = pathText(path.slice(2));
  return `watches[${path[1]}]${table}${rest && !rest.startsWith('[') ? '.' : ''}${rest}`;
}

export interface ConfigSource {
  /** `--config` on the command line. */
  path?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Where the watches come from, first match wins: `--config`, `PGBRIDGE_CONFIG_JSON` (inline, for
 * containers), `PGBRIDGE_CONFIG` (a path), `./pgbridge.config.json`.
 */
export function loadBridgeConfig({ path, env = process.env }: ConfigSource = {}): BridgeConfig {
  if (!path && env.PGBRIDGE_CONFIG_JSON) {
    return parseBridgeConfig(parseJson(env.PGBRIDGE_CONFIG_JSON, 'PGBRIDGE_CONFIG_JSON'), 'PGBRIDGE_CONFIG_JSON');
  }
  const file = path ?? env.PGBRIDGE_CONFIG ?? 'pgbridge.config.json';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(`cannot read config ${file}: ${reason} (set --config, PGBRIDGE_CONFIG or PGBRIDGE_CONFIG_JSON)`);
  }
  return parseBridgeConfig(parseJson(text, file), file);
}

/** The watches of the config `loadBridgeConfig` finds. */
export function loadConfig(source: ConfigSource = {}): Watch[] {
  return loadBridgeConfig(source).watches;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`invalid ${source}: not valid JSON (${(error as Error).message})`);
  }
}
