import { VARIANTS, type VariantName } from '../capture-variants.ts';
import { WORKLOADS } from '../load/workloads.ts';
import { walBytesPerEvent } from '../measure/wal-written.ts';
import type { WalCaptureResults } from '../phases/wal-capture.ts';
import { WAL_BULK_VARIANTS, WAL_WRITER_VARIANTS } from '../phases/wal-capture.ts';
import { n, table, x } from './markdown-table.ts';

const BULK_TITLES = { 'insert-select': 'INSERT … SELECT', 'update-all': 'UPDATE' } as const;

/** The `wal` phase: writers and WAL per event of "capture": "wal" against none and the trigger. */
export function walCaptureSection(results: WalCaptureResults | undefined): string {
  if (!results) return '';
  if (results.skipped) return `\n### capture: wal\n\nNot measured: ${results.skipped}.\n`;
  const find = (variant: VariantName, workload: string) =>
    results.writers.find((run) => run.variant === variant && run.workload === workload);
  const workloads = [...new Set(results.writers.map((run) => run.workload))];
  const rate = (variant: VariantName, workload: string) => find(variant, workload)?.eventsPerSecond;
  const writerRows = workloads.map((workload) => {
    const none = rate('none', workload);
    const first = find('none', workload);
    const rounds = first?.roundsTransactionsPerSecond?.length;
    return [
      WORKLOADS[workload].title,
      rounds ? `${first!.writers} (median of ${rounds} rounds)` : String(first?.writers ?? '–'),
      ...WAL_WRITER_VARIANTS.map((variant) => {
        const value = rate(variant, workload);
        return variant === 'none' ? n(value) : `${n(value)}${x(value !== undefined && none ? value / none : undefined)}`;
      }),
    ];
  });
  const bulkRows = (['insert-select', 'update-all'] as const).flatMap((statement) => {
    const bulk = (variant: VariantName) => results.bulk.find((run) => run.variant === variant && run.statement === statement);
    const none = bulk('none');
    if (!none) return [];
    return [
      [
        `bulk: one ${BULK_TITLES[statement]} of ${n(none.rows)} rows (median of ${none.seconds.length})`,
        '1',
        ...WAL_BULK_VARIANTS.map((variant) => {
          const run = bulk(variant);
          if (!run) return '–';
          return variant === 'none' ? n(run.rowsPerSecond) : `${n(run.rowsPerSecond)}${x(run.rowsPerSecond / none.rowsPerSecond)}`;
        }),
        '– (the listener sees nothing before the commit)',
      ],
    ];
  });
  const walCell = (variant: VariantName, workload: string) => {
    const run = find(variant, workload);
    const none = find('none', workload);
    if (!run?.eventsWritten) return '–';
    const perEvent = walBytesPerEvent(run.wal, run.eventsWritten);
    const base = none && variant !== 'none' ? walBytesPerEvent(none.wal, none.eventsWritten) : undefined;
    return `${n(perEvent)}${x(base ? perEvent / base : undefined)}`;
  };
  const bulkWal = (['insert-select', 'update-all'] as const).flatMap((statement) => {
    const bulk = (variant: VariantName) => results.bulk.find((run) => run.variant === variant && run.statement === statement);
    const none = bulk('none');
    if (!none) return [];
    const base = walBytesPerEvent(none.wal, none.rows);
    return [
      [
        `bulk ${BULK_TITLES[statement]} of ${n(none.rows)} rows`,
        ...WAL_BULK_VARIANTS.map((variant) => {
          const run = bulk(variant);
          if (!run) return '–';
          const perEvent = walBytesPerEvent(run.wal, run.rows);
          return `${n(perEvent)}${variant === 'none' ? '' : x(perEvent / base)}`;
        }),
        '–',
      ],
    ];
  });
  return [
    '\n### capture: wal — writers (rows changed per second, ratio to none), on a server with wal_level = logical\n',
    table(['workload', 'writers', ...WAL_WRITER_VARIANTS.map((variant) => VARIANTS[variant].title)], [...writerRows, ...bulkRows]),
    '\n### capture: wal — WAL per row change (bytes without full-page images, ratio to none)\n',
    table(
      ['workload', ...WAL_WRITER_VARIANTS.map((variant) => VARIANTS[variant].title)],
      [
        ...workloads.map((workload) => [WORKLOADS[workload].title, ...WAL_WRITER_VARIANTS.map((variant) => walCell(variant, workload))]),
        ...bulkWal,
      ],
    ),
  ].join('');
}
