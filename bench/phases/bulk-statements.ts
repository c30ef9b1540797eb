import { readFileSync } from 'node:fs';
import type { BenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import { RunningVariant, VARIANTS, type VariantName } from '../capture-variants.ts';
import { WalMeter, type WalWritten } from '../measure/wal-written.ts';

const BULK_SCHEMA_SQL = readFileSync(new URL('../bulk-schema.sql', import.meta.url), 'utf8');
const BULK_CONFIG = { watches: [{ table: 'bench.bulk_items' }] };

export type BulkStatement = 'insert-select' | 'update-all';
// The listener cannot see a statement's rows before it commits, so it has nothing to do while
// one runs: a draining listener would only add the drain after the statement, not tax it.
export const BULK_VARIANTS: VariantName[] = ['none', 'pgbridge-trigger', 'pgbridge-trigger-statement'];

export interface BulkRun {
  variant: VariantName;
  statement: BulkStatement;
  rows: number;
  /** Each repetition's time for the statement and its commit; the rate is the median's. */
  seconds: number[];
  rowsPerSecond: number;
  /** WAL of the median repetition. */
  wal: WalWritten;
  /** Outbox heap + indexes per captured event after the statement (captured variants). */
  outboxBytesPerEvent?: number;
}

/**
 * Issue 11's worst case: one statement changing `settings.bulkRows` rows (an INSERT … SELECT,
 * then an UPDATE of every preloaded row), one writer, each variant in turn in every repetition.
 */
export async function measureBulkStatements(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
  variants: VariantName[] = BULK_VARIANTS,
): Promise<BulkRun[]> {
  const rows = settings.bulkRows;
  await env.admin.query(BULK_SCHEMA_SQL);
  await env.admin.query(`INSERT INTO bench.bulk_items (sent_at, note) SELECT 0, 'preloaded' FROM generate_series(1, ${rows})`);
  await env.admin.query('VACUUM ANALYZE bench.bulk_items');
  const samples = new Map<string, Omit<BulkRun, 'seconds' | 'rowsPerSecond'>[]>();
  const times = new Map<string, number[]>();
  for (let repetition = 0; repetition < settings.bulkRepetitions; repetition++) {
    for (const name of variants) {
      const running = await RunningVariant.start(VARIANTS[name], env, { config: BULK_CONFIG });
      try {
        for (const statementName of ['insert-select', 'update-all'] as const) {
          await running.reset();
          await env.admin.query('VACUUM bench.bulk_items');
          const { seconds, sample } = await runBulkStatement(env, name, statementName, rows, repetition);
          const key = `${name}/${statementName}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          times.set(key, [...(times.get(key) ?? []), seconds]);
          progress(
            `bulk     ${name.padEnd(20)} ${statementName.padEnd(13)} ${rows} rows: ${seconds.toFixed(2)} s, ${Math.round(rows / seconds)} rows/s`,
          );
        }
      } finally {
        await running.stop();
      }
    }
  }
  await env.admin.query('TRUNCATE pgbridge.outbox');
  // Its millions of dead and new rows would keep autovacuum writing WAL through the next phases.
  await env.admin.query('DROP TABLE bench.bulk_items');
  return [...samples.entries()].map(([key, runs]) => {
    const seconds = times.get(key)!;
    const median = [...seconds.keys()].sort((a, b) => seconds[a]! - seconds[b]!)[Math.floor(seconds.length / 2)]!;
    return { ...runs[median]!, seconds, rowsPerSecond: rows / seconds[median]! };
  });
}

async function runBulkStatement(
  env: BenchEnvironment,
  variant: VariantName,
  statementName: BulkStatement,
  rows: number,
  repetition: number,
): Promise<{ seconds: number; sample: Omit<BulkRun, 'seconds' | 'rowsPerSecond'> }> {
  // Every row really changes: the note is unique to this repetition and variant.
  const note = `'bulk ${repetition} ${variant}'`;
  const sql =
    statementName === 'insert-select'
      ? `INSERT INTO bench.bulk_items (sent_at, note) SELECT ${Date.now()}, ${note} FROM generate_series(1, ${rows})`
      : `UPDATE bench.bulk_items SET sent_at = ${Date.now()}, note = ${note} WHERE id <= ${rows}`;
  const client = await env.admin.connect();
  try {
    const wal = await WalMeter.start(env.admin);
    const started = performance.now();
    const result = await client.query(sql);
    const seconds = (performance.now() - started) / 1000;
    if (result.rowCount !== rows) throw new Error(`bulk ${statementName}: changed ${result.rowCount} rows, expected ${rows}`);
    const walWritten = await wal.stop();
    // A WAL watch writes no outbox row: its events wait in the slot.
    const captured = VARIANTS[variant].capture === 'pgbridge' && !VARIANTS[variant].walCapture;
    const outbox = captured
      ? (
          await env.admin.query(
            `SELECT pg_total_relation_size('pgbridge.outbox') AS bytes, (SELECT count(*) FROM pgbridge.outbox) AS events`,
          )
        ).rows[0]
      : undefined;
    if (outbox && Number(outbox.events) !== rows)
      throw new Error(`bulk ${statementName} (${variant}): ${outbox.events} events in the outbox for ${rows} rows`);
    return {
      seconds,
      sample: {
        variant,
        statement: statementName,
        rows,
        wal: walWritten,
        ...(outbox ? { outboxBytesPerEvent: Number(outbox.bytes) / rows } : {}),
      },
    };
  } finally {
    client.release();
  }
}
