import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { BenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import { RunningVariant, VARIANTS } from '../capture-variants.ts';
import { PRELOADED_ROWS } from '../load/workloads.ts';
import { WalMeter } from '../measure/wal-written.ts';
import { deriveSteps, type InstalledTrigger, installStep, type StepName } from '../profile/capture-steps.ts';

const PROFILE_SCHEMA_SQL = readFileSync(new URL('../profile/profile-schema.sql', import.meta.url), 'utf8');
const INSTALLED_CAPTURE_SQL = readFileSync(new URL('../profile/installed-capture.sql', import.meta.url), 'utf8');
const NOTE = "'a short note, like most application rows carry'";

export type ProfileAction = 'insert' | 'update';

export interface ProfileRun {
  step: StepName;
  action: ProfileAction;
  rowsPerStatement: number;
  statements: number;
  /** Per row changed, medians of the rounds: the statement with its triggers (server-side), then its COMMIT (client-side, WAL flush included). */
  statementMicrosPerRow: number;
  commitMicrosPerRow: number;
  /** WAL per row changed, the statement and its commit (the least of the rounds): without full-page images, and theirs. */
  walBytesPerRow: number;
  fpiBytesPerRow?: number;
}

export interface CaptureProfile {
  /** The installed triggers the steps were derived from (pg_get_triggerdef). */
  triggers: string[];
  runs: ProfileRun[];
  /** Steps the installed capture's code did not fit, and why. */
  notDerived: { step: StepName; reason: string }[];
}

/**
 * "Find where the time goes first" (issue 11): one captured row taken apart on one connection.
 * The steps are built on a copy of the bench table from the capture pgbridge installed there,
 * read back from the catalog, each adding one part of the real capture function, and measured
 * in interleaved rounds (medians kept) so that other load on the machine hits all steps alike.
 */
export async function measureCaptureProfile(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<CaptureProfile> {
  const running = await RunningVariant.start(VARIANTS['pgbridge-trigger'], env);
  await running.stop();
  const installed = (await env.admin.query(INSTALLED_CAPTURE_SQL)).rows.map(
    (row): InstalledTrigger => ({
      triggerName: row.trigger_name,
      triggerSql: row.trigger_sql,
      functionSignature: row.function_signature,
      functionSql: row.function_sql,
      functionBody: row.function_body,
    }),
  );
  const steps = deriveSteps(installed);
  await env.admin.query(PROFILE_SCHEMA_SQL);
  await env.admin.query(`INSERT INTO bench_profile.items (sent_at, note) SELECT 0, 'preloaded' FROM generate_series(1, ${PRELOADED_ROWS})`);
  await env.admin.query('VACUUM ANALYZE bench_profile.items');

  const client = new pg.Client({ connectionString: env.databaseUrl, application_name: 'bench-profile' });
  await client.connect();
  const samples = new Map<string, ProfileRun[]>();
  try {
    for (let round = 0; round < settings.profileRounds; round++) {
      for (const step of steps.filter((candidate) => candidate.sql !== undefined)) {
        await installStep(client, step);
        for (const action of ['insert', 'update'] as const) {
          for (const rows of settings.profileRowsPerStatement) {
            const run = await measureStep(env, client, step.name, action, rows, statementsFor(rows, settings.quick));
            const key = `${step.name}/${action}/${rows}`;
            samples.set(key, [...(samples.get(key) ?? []), run]);
          }
        }
      }
      progress(`profile  round ${round + 1}/${settings.profileRounds} done`);
    }
  } finally {
    await installStep(client, { name: 'no-trigger', sql: '' }).catch(() => undefined);
    await client.end();
    await env.admin.query('TRUNCATE pgbridge.outbox');
  }
  const runs = [...samples.values()].map(medianRun);
  for (const run of runs.filter((candidate) => candidate.step === 'capture'))
    progress(
      `profile  ${run.action} ×${run.rowsPerStatement}: capture ${run.statementMicrosPerRow.toFixed(1)} µs/row, commit ${run.commitMicrosPerRow.toFixed(1)} µs/row, WAL ${Math.round(run.walBytesPerRow)} B/row`,
    );
  return {
    triggers: installed.map((trigger) => trigger.triggerSql),
    runs,
    notDerived: steps.flatMap((step) => (step.notDerived ? [{ step: step.name, reason: step.notDerived }] : [])),
  };
}

/** Enough statements for a steady per-row figure, few enough for a short phase. */
function statementsFor(rowsPerStatement: number, quick: boolean): number {
  const rows = quick ? 5_000 : 30_000;
  return Math.max(5, Math.min(quick ? 100 : 500, Math.round(rows / rowsPerStatement)));
}

let changes = 0;

function statementSql(action: ProfileAction, rows: number): string {
  if (action === 'insert')
    return rows === 1
      ? `INSERT INTO bench_profile.items (sent_at, note) VALUES (${Date.now()}, ${NOTE})`
      : `INSERT INTO bench_profile.items (sent_at, note) SELECT ${Date.now()}, ${NOTE} FROM generate_series(1, ${rows})`;
  // A note unique to this statement: every row really changes (an unchanged row sends nothing).
  const note = `'${String(++changes).padStart(8, '0')} note like most application rows carry'`;
  if (rows === 1)
    return `UPDATE bench_profile.items SET sent_at = ${Date.now()}, note = ${note} WHERE id = ${1 + Math.floor(Math.random() * PRELOADED_ROWS)}`;
  const stride = Math.floor(PRELOADED_ROWS / rows);
  const offset = 1 + (changes % stride);
  return `UPDATE bench_profile.items SET sent_at = ${Date.now()}, note = ${note} WHERE id IN (SELECT generate_series(${offset}, ${stride * rows}, ${stride}))`;
}

async function measureStep(
  env: BenchEnvironment,
  client: pg.Client,
  step: StepName,
  action: ProfileAction,
  rows: number,
  statements: number,
): Promise<ProfileRun> {
  await env.admin.query('TRUNCATE pgbridge.outbox');
  await env.admin.query('CHECKPOINT');
  let statementMs = 0;
  let commitMs = 0;
  const wal = await WalMeter.start(env.admin);
  for (let index = 0; index < statements; index++) {
    // Timed by the server: EXPLAIN ANALYZE runs the statement and its AFTER triggers, and its
    // execution time leaves out the client's round trip and scheduling, which on a shared
    // machine are larger and noisier than a single row's capture.
    await client.query('BEGIN');
    const { rows: plan } = await client.query(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${statementSql(action, rows)}`);
    const committing = performance.now();
    await client.query('COMMIT');
    statementMs += executionMs(plan);
    commitMs += performance.now() - committing;
  }
  const written = await wal.stop();
  const changed = statements * rows;
  return {
    step,
    action,
    rowsPerStatement: rows,
    statements,
    statementMicrosPerRow: (statementMs * 1000) / changed,
    commitMicrosPerRow: (commitMs * 1000) / changed,
    walBytesPerRow: (written.bytes - (written.fpiBytes ?? 0)) / changed,
    ...(written.fpiBytes !== undefined ? { fpiBytesPerRow: written.fpiBytes / changed } : {}),
  };
}

function executionMs(plan: { 'QUERY PLAN': [{ 'Execution Time': number }] }[]): number {
  const ms = plan[0]?.['QUERY PLAN'][0]['Execution Time'];
  if (typeof ms !== 'number')
    throw new Error(`capture profile: EXPLAIN ANALYZE gave no execution time: ${JSON.stringify(plan).slice(0, 200)}`);
  return ms;
}

/**
 * Times: the median round's. WAL: the smallest round's, since the meter counts the whole
 * cluster and other sessions (autovacuum, a checkpointer's) can only add to a round's WAL.
 */
function medianRun(rounds: ProfileRun[]): ProfileRun {
  const sorted = [...rounds].sort((a, b) => a.statementMicrosPerRow - b.statementMicrosPerRow);
  const leastWal = [...rounds].sort(
    (a, b) => a.walBytesPerRow + (a.fpiBytesPerRow ?? 0) - (b.walBytesPerRow + (b.fpiBytesPerRow ?? 0)),
  )[0]!;
  return { ...sorted[Math.floor(sorted.length / 2)]!, walBytesPerRow: leastWal.walBytesPerRow, fpiBytesPerRow: leastWal.fpiBytesPerRow };
}
