import { z } from 'zod';

/** How the problems of one kind of input are worded. */
export interface ProblemWording {
  /** Where a problem is, as the user would look for it; defaults to `watches[1].actions[0]`. */
  where?: (path: PropertyKey[]) => string;
  /** True for paths whose values must never be repeated in a message (credentials, row data). */
  conceal?: (path: PropertyKey[]) => boolean;
}

export type Validation<T> = { ok: true; data: T } | { ok: false; problems: string[] };

/**
 * Parses `input` once and, on failure, returns every problem as `where: what (got value)`. A
 * schema's own message is kept as written (it is expected to name the value itself); zod's generic
 * messages get the received value appended, so no problem is reported by its position alone.
 */
export function validate<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  wording: ProblemWording = {},
): Validation<z.output<Schema>> {
  const where = wording.where ?? pathText;
  const conceal = wording.conceal ?? (() => false);
  const result = schema.safeParse(input, {
    error: (issue) => {
      const generic = messageOf(z.config().localeError?.(issue)) ?? 'Invalid input';
      const path = issue.path ?? [];
      if (issue.code === 'unrecognized_keys' || conceal(path)) return generic;
      // The value as the user wrote it: after z.coerce, the issue only holds NaN.
      const value = valueText(valueAt(input, path) ?? issue.input);
      return value === undefined ? generic : `${generic} (got ${value})`;
    },
  });
  if (result.success) return { ok: true, data: result.data };
  const problems = result.error.issues.map((issue) => {
    const place = where(issue.path);
    return place ? `${place}: ${issue.message}` : issue.message;
  });
  return { ok: false, problems };
}

/** `['watches', 1, 'actions', 0]` → `watches[1].actions[0]`. */
export function pathText(path: PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index ? '.' : ''}${String(part)}`)).join('');
}

/**
 * Environment variables whose values are never repeated in an error: connection strings carry
 * passwords, header lists carry tokens. The variable's name is enough to find it.
 */
export function isSecretVariable(path: PropertyKey[]): boolean {
  return /PASSWORD|SECRET|TOKEN|HEADERS|URL/.test(String(path[0]));
}

const MAX_VALUE_CHARS = 60;

/**
 * A value as it would appear in JSON, shortened. Objects and arrays are left out: zod's message
 * already says which type it received, and their contents could be anything, secrets included.
 */
export function valueText(value: unknown): string | undefined {
  if (value === undefined || (typeof value === 'object' && value !== null)) return undefined;
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function messageOf(mapped: string | { message: string } | undefined | null): string | undefined {
  return typeof mapped === 'string' ? mapped : (mapped?.message ?? undefined);
}
