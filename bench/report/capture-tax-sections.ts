import { pairedRoundsRatio } from '../measure/paired-ratio.ts';
import type { BenchResults } from '../bench-results.ts';
import { VARIANTS, type VariantName } from '../capture-variants.ts';
import { WORKLOADS } from '../load/workloads.ts';
import { walBytesPerEvent } from '../measure/wal-written.ts';
import type { BulkRun } from '../phases/bulk-statements.ts';
import type { CaptureProfile } from '../phases/capture-profile.ts';
import { isMultiRow, type WriterRun } from '../phases/writer-throughput.ts';
import { STEP_TITLES } from '../profile/capture-steps.ts';
import { n, table, x } from './markdown-table.ts';

// Issue 11's figures: what capture costs the writers (multi-row and bulk statements, a listener
// killed while idle, WAL per event) and where one captured row's time goes.

const BULK_TITLES: Record<BulkRun['statement'], string> = {
  'insert-select': 'INSERT … SELECT',
  'update-all': 'UPDATE of every preloaded row',
};

const find = (results: BenchResults, variant: VariantName, workload: string, writers: number) =>
  results.writers.find((run) => run.variant === variant && run.workload === workload && run.writers === writers);
const cellsOf = (runs: WriterRun[]) => [...new Set(runs.map((run) => `${run.workload}/${run.writers}`))];
const splitCell = (key: string) => {
  const [workload, writers] = key.split('/') as [WriterRun['workload'], string];
  return { workload, writers: Number(writers) };
};

/** Multi-row statements: captured rows/s against none, and the bulk statements. */
export function multiRowSection(results: BenchResults): string {
  const multiRow = results.writers.filter((run) => isMultiRow(run.workload));
  if (multiRow.length === 0 && results.bulk.length === 0) return '';
  const rows: string[][] = cellsOf(multiRow).map((key) => {
    const { workload, writers } = splitCell(key);
    const rate = (variant: VariantName) => find(results, variant, workload, writers)?.eventsPerSecond;
    const none = rate('none');
    return [
      WORKLOADS[workload].title,
      String(writers),
      n(none),
      ...(['pgbridge-trigger', 'pgbridge-trigger-statement', 'pgbridge'] as const).map(
        (variant) => `${n(rate(variant))}${x(none ? (rate(variant) ?? NaN) / none : undefined)}`,
      ),
    ];
  });
  for (const statement of ['insert-select', 'update-all'] as const) {
    const bulk = (variant: VariantName) => results.bulk.find((run) => run.variant === variant && run.statement === statement);
    const none = bulk('none');
    if (!none) continue;
    const captured = (variant: VariantName) => {
      const run = bulk(variant);
      return run ? `${n(run.rowsPerSecond)}${x(run.rowsPerSecond / none.rowsPerSecond)}` : '–';
    };
    rows.push([
      `bulk: one ${BULK_TITLES[statement]} of ${n(none.rows)} rows (median of ${none.seconds.length})`,
      '1',
      n(none.rowsPerSecond),
      captured('pgbridge-trigger'),
      captured('pgbridge-trigger-statement'),
      '– (the listener sees nothing before the commit)',
    ]);
  }
  const outbox = results.bulk.find((run) => run.outboxBytesPerEvent !== undefined && run.statement === 'insert-select');
  return [
    '\n### Multi-row statements (rows changed per second, ratio to none)\n',
    table(
      [
        'statement',
        'writers',
        VARIANTS.none.title,
        VARIANTS['pgbridge-trigger'].title,
        VARIANTS['pgbridge-trigger-statement'].title,
        VARIANTS.pgbridge.title,
      ],
      rows,
    ),
    outbox
      ? `\nOutbox after the bulk INSERT: ${n(outbox.outboxBytesPerEvent)} bytes per event (heap and indexes; ${n((outbox.outboxBytesPerEvent! * 1e6) / 2 ** 20)} MB per million events).\n`
      : '',
  ].join('');
}

/** A listener SIGKILLed in its sleep: writers against the trigger-only figure of the same run. */
export function killedIdleSection(results: BenchResults): string {
  const killed = results.writers.filter((run) => run.variant === 'pgbridge-killed-idle');
  if (killed.length === 0) return '';
  return [
    '\n### Listener killed while idle (SIGKILL while asleep on LISTEN, then the writers)\n',
    table(
      [
        'workload',
        'writers',
        `${VARIANTS['pgbridge-trigger'].title}, tx/s`,
        `${VARIANTS['pgbridge-killed-idle'].title}, tx/s`,
        "÷ trigger only (median of the rounds' ratios)",
        'waiting flag when the writers started',
        'when they ended',
      ],
      killed.map((run) => {
        const trigger = find(results, 'pgbridge-trigger', run.workload, run.writers);
        const flag = run.waitingFlagAtStart;
        const after = run.waitingFlagAtEnd;
        return [
          WORKLOADS[run.workload].title,
          run.roundsTransactionsPerSecond
            ? `${run.writers} (median of ${run.roundsTransactionsPerSecond.length} rounds)`
            : String(run.writers),
          n(trigger?.transactionsPerSecond),
          n(run.transactionsPerSecond),
          trigger ? `${pairedRoundsRatio(run, trigger).toFixed(2)}×` : '–',
          flag ? `${flag.waiting ? 'set' : '**clear**'}, waiting lock ${flag.lockHeld ? '**held**' : 'free (no live listener)'}` : '–',
          after ? (after.waiting ? 'set' : 'clear (a writer cleared it)') : '–',
        ];
      }),
    ),
    "\nThe two cells run next to each other in every round, this one second in even rounds and first in odd ones (so that drift from run to run weighs on both sides alike); the ratio is the median of the rounds' own ratios.\n",
  ].join('');
}

/** WAL per row change, without full-page images (their share after a checkpoint is given apart). */
export function walSection(results: BenchResults): string {
  const measured = results.writers.filter((run) => run.wal);
  if (measured.length === 0 && results.bulk.length === 0) return '';
  const inspected = [...measured.map((run) => run.wal), ...results.bulk.map((run) => run.wal)].some((wal) => wal.fpiBytes !== undefined);
  const cell = (wal: { bytes: number; fpiBytes?: number } | undefined, events: number | undefined, base: number | undefined) => {
    if (!wal || !events) return '–';
    const perEvent = walBytesPerEvent(wal, events);
    const fpi = wal.fpiBytes !== undefined ? ` + ${n(wal.fpiBytes / events)} FPI` : '';
    return `${n(perEvent)}${fpi}${x(base ? perEvent / base : undefined)}`;
  };
  const rows: string[][] = cellsOf(measured).map((key) => {
    const { workload, writers } = splitCell(key);
    const run = (variant: VariantName) => find(results, variant, workload, writers);
    const none = run('none');
    const base = none ? walBytesPerEvent(none.wal, none.eventsWritten) : undefined;
    return [
      WORKLOADS[workload].title,
      String(writers),
      ...(['none', 'pgbridge-trigger', 'pgbridge-trigger-statement', 'pgbridge'] as const).map((variant) =>
        cell(run(variant)?.wal, run(variant)?.eventsWritten, variant === 'none' ? undefined : base),
      ),
    ];
  });
  for (const statement of ['insert-select', 'update-all'] as const) {
    const bulk = (variant: VariantName) => results.bulk.find((run) => run.variant === variant && run.statement === statement);
    const none = bulk('none');
    if (!none) continue;
    const base = walBytesPerEvent(none.wal, none.rows);
    rows.push([
      `bulk ${BULK_TITLES[statement]} of ${n(none.rows)} rows`,
      '1',
      cell(none.wal, none.rows, undefined),
      cell(bulk('pgbridge-trigger')?.wal, none.rows, base),
      cell(bulk('pgbridge-trigger-statement')?.wal, none.rows, base),
      '–',
    ]);
  }
  return [
    '\n### WAL per row change (bytes, ratio to none)\n',
    inspected
      ? 'Whole-cluster WAL (LSN difference) over each run divided by the row changes committed; full-page images (FPI, first change of a page after the checkpoint before each run) counted apart with pg_walinspect and left out of the ratio. With the listener draining, its deletes during the run are included.\n\n'
      : 'Whole-cluster WAL (LSN difference) over each run divided by the row changes committed (pg_walinspect not available: full-page images included).\n\n',
    table(
      [
        'workload',
        'writers',
        VARIANTS.none.title,
        VARIANTS['pgbridge-trigger'].title,
        VARIANTS['pgbridge-trigger-statement'].title,
        VARIANTS.pgbridge.title,
      ],
      rows,
    ),
  ].join('');
}

/** One captured row taken apart, per statement shape. */
export function profileSection(profile: CaptureProfile | undefined): string {
  if (!profile) return '';
  const shapes = [...new Set(profile.runs.map((run) => `${run.action}/${run.rowsPerStatement}`))];
  const out = [
    '\n### Capture profile: where one captured row goes (one connection, µs and WAL bytes per row changed)\n',
    "Each step adds one part of the capture pgbridge installed on bench.items (derived from the function Postgres holds), on a copy of the table; the listener is paused (waiting flag clear). Statement time is the server's (EXPLAIN ANALYZE execution time: the statement and its AFTER triggers, no client round trip); commit time is the client's COMMIT round trip, the WAL flush included (fsync on), and for single-row statements is paid per row. The differences between steps are the capture's parts; times are medians of interleaved rounds, WAL the least of the rounds (the meter counts the whole cluster, so other sessions can only add to it). Installed triggers:\n\n",
    profile.triggers.map((trigger) => `- \`${trigger}\``).join('\n'),
    '\n',
  ];
  for (const shape of shapes) {
    const [action, rowsText] = shape.split('/');
    const runs = profile.runs.filter((run) => `${run.action}/${run.rowsPerStatement}` === shape);
    const first = runs[0]!;
    out.push(
      `\n**${action} statements of ${n(Number(rowsText))} row${rowsText === '1' ? '' : 's'}** (${n(first.statements)} statements per step and round)\n\n`,
    );
    out.push(
      table(
        ['step', 'statement µs/row', 'Δ previous step', 'commit µs/row', 'WAL B/row', 'FPI B/row'],
        runs.map((run, index) => [
          STEP_TITLES[run.step],
          run.statementMicrosPerRow.toFixed(1),
          index === 0
            ? ''
            : `${run.statementMicrosPerRow - runs[index - 1]!.statementMicrosPerRow >= 0 ? '+' : ''}${(run.statementMicrosPerRow - runs[index - 1]!.statementMicrosPerRow).toFixed(1)}`,
          run.commitMicrosPerRow.toFixed(1),
          n(run.walBytesPerRow),
          run.fpiBytesPerRow === undefined ? '–' : n(run.fpiBytesPerRow),
        ]),
      ),
    );
  }
  for (const missing of profile.notDerived) out.push(`\nNot measured: ${STEP_TITLES[missing.step]}: ${missing.reason}.\n`);
  return out.join('');
}
