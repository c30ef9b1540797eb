import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { isSecretVariable, validate } from '../validation-problems.ts';

/**
 * Parses a consumer function's environment (what its CDK construct set) once, at cold start:
 * a broken deployment fails with every bad variable named, before any event is touched.
 */
export function readEnvironment<Schema extends z.ZodType>(schema: Schema, env: NodeJS.ProcessEnv, consumer: string): z.output<Schema> {
  const result = validate(schema, env, { conceal: isSecretVariable });
  if (!result.ok) throw new ConfigError(`invalid ${consumer} consumer environment: ${result.problems.join('; ')}`);
  return result.data;
}

/** A variable holding JSON, validated by `inner` after parsing. */
export function jsonVariable<Inner extends z.ZodType>(inner: Inner) {
  return z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(inner);
}
