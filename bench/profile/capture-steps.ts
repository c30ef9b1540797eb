import type pg from 'pg';

/** One trigger of the installed capture, as read from the catalog (installed-capture.sql). */
export interface InstalledTrigger {
  triggerName: string;
  triggerSql: string;
  functionSignature: string;
  functionSql: string;
  functionBody: string;
}

export type StepName = 'no-trigger' | 'empty-trigger' | 'row-json' | 'outbox-insert' | 'capture';

export const STEP_TITLES: Record<StepName, string> = {
  'no-trigger': '(a) no trigger',
  'empty-trigger': '(b) empty trigger function, same triggers (WHEN included)',
  'row-json': '(c) + building the event (key, row JSON), not written',
  'outbox-insert': '(d) + the outbox INSERT',
  capture: '(e) + the waiting-flag read: the installed capture function',
};

/** A step: the SQL that puts it on bench_profile.items, or why it could not be derived. */
export interface CaptureStep {
  name: StepName;
  sql?: string;
  notDerived?: string;
}

const OUTBOX_VALUES = /INSERT INTO pgbridge\.outbox\s*\([^)]*\)\s*VALUES\s*\(/g;
const OUTBOX_SELECT = /INSERT INTO pgbridge\.outbox\s*\([^)]*\)\s*SELECT\b/g;
// pg_get_triggerdef prints `ROW(OLD.a)::record *<> ROW(NEW.a)::record` without the casts, and
// `ROW(x) *<> ROW(y)` parses as a column-by-column comparison (`x *<> y`, no such operator for
// most types): the casts go back in before the definition is used again.
const ROW_IMAGE_COMPARISON = /(ROW\([^()]*\)) \*<> (ROW\([^()]*\))/g;
// An INSERT's `RETURNING id INTO variable` has nothing to return once the INSERT is a PERFORM.
const RETURNING_INTO = /\s+RETURNING\s+[\w.]+\s+INTO\s+[\w.]+/g;
const OUTBOX_WRITE = /(INSERT INTO|UPDATE|DELETE FROM|MERGE INTO)\s+pgbridge\.outbox\b/;
// The flag read and all it guards (the NOTIFY, clearing a dead listener's flag): one IF block
// holding one inner IF … END IF.
const FLAG_BLOCK = /IF \(SELECT waiting FROM pgbridge\.listener_state\) THEN(?:(?!END IF;)[\s\S])*END IF;\s*END IF;/g;

// Each step takes the installed function's body and removes what the later steps add: the flag
// block goes (the paused-listener path: the flag reads false, nothing it guards runs), and the
// outbox INSERT becomes a PERFORM of the same values, which Postgres still computes row by row.
// A body these rewrites do not fit (a new capture shape) gets no step rather than a wrong one.
const BODIES: Record<Exclude<StepName, 'no-trigger'>, (body: string) => string> = {
  'empty-trigger': () => '\nBEGIN\n  RETURN NULL;\nEND\n',
  'row-json': (body) =>
    withoutFlagRead(body).replace(OUTBOX_VALUES, 'PERFORM ROW(').replace(OUTBOX_SELECT, 'PERFORM').replace(RETURNING_INTO, ''),
  'outbox-insert': (body) => withoutFlagRead(body),
  capture: (body) => body,
};

function withoutFlagRead(body: string): string {
  return body.replace(FLAG_BLOCK, '');
}

function notDerivable(step: StepName, trigger: InstalledTrigger, body: string): string | undefined {
  // Reading the outbox (e.g. to pair a key change's rows) is part of building the event; writing it is not.
  if (step === 'row-json' && OUTBOX_WRITE.test(body))
    return `${trigger.functionSignature} writes the outbox other than by INSERT … VALUES / INSERT … SELECT`;
  if ((step === 'row-json' || step === 'outbox-insert') && body.includes('listener_state'))
    return `${trigger.functionSignature} reads the waiting flag other than in one IF (SELECT waiting FROM pgbridge.listener_state) block`;
  return undefined;
}

/** The five steps of one captured row, from the installed triggers of bench.items. */
export function deriveSteps(installed: InstalledTrigger[]): CaptureStep[] {
  if (installed.length === 0) throw new Error('capture profile: no pgbridge trigger is installed on bench.items');
  const steps: CaptureStep[] = [{ name: 'no-trigger', sql: '' }];
  for (const name of Object.keys(BODIES) as (keyof typeof BODIES)[]) {
    const statements: string[] = [];
    let notDerived: string | undefined;
    const functions = new Map<string, string>();
    for (const trigger of installed) {
      const stepFunction = `bench_profile.${name.replaceAll('-', '_')}_${functions.size + 1}`;
      if (!functions.has(trigger.functionSignature)) {
        const body = BODIES[name](trigger.functionBody);
        notDerived ??= notDerivable(name, trigger, body);
        functions.set(trigger.functionSignature, stepFunction);
        statements.push(
          trigger.functionSql
            .replace(trigger.functionSignature.replace(/\(\)$/, ''), () => stepFunction)
            .replace(trigger.functionBody, () => body),
        );
      }
      statements.push(
        trigger.triggerSql
          .replace(/ ON bench\.items /, ' ON bench_profile.items ')
          .replace(ROW_IMAGE_COMPARISON, '$1::record *<> $2::record')
          .replace(/EXECUTE FUNCTION \S+\(\)/, () => `EXECUTE FUNCTION ${functions.get(trigger.functionSignature)}()`),
      );
    }
    steps.push(notDerived ? { name, notDerived } : { name, sql: statements.join(';\n') });
  }
  return steps;
}

/** Replaces the triggers on bench_profile.items with the step's, in one transaction. */
export async function installStep(client: pg.ClientBase, step: CaptureStep): Promise<void> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query(
      `SELECT format('DROP TRIGGER %I ON bench_profile.items', tgname) AS drop_sql FROM pg_trigger
       WHERE tgrelid = 'bench_profile.items'::regclass AND NOT tgisinternal`,
    );
    for (const row of rows) await client.query(row.drop_sql);
    if (step.sql) await client.query(step.sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`capture profile: step ${step.name} could not be installed: ${(error as Error).message}\n${step.sql}`, {
      cause: error,
    });
  }
}
