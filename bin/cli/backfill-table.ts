import type { BackfillSummary } from '../../lib/backfill/backfill-status.ts';

const COLUMNS: Array<[string, (backfill: BackfillSummary) => string]> = [
  ['id', (b) => b.id],
  ['watch', (b) => b.watch],
  ['state', (b) => b.state],
  ['rows', (b) => `${b.rowsDone}/${b.rowsEstimate ?? '?'}`],
  ['target', (b) => b.target ?? '-'],
  ['where', (b) => b.where ?? '-'],
  ['started', (b) => b.startedAt.toISOString()],
  ['updated', (b) => (b.finishedAt ?? b.updatedAt).toISOString()],
];

/** Backfills as an aligned table, a header and one line each (`backfill status`, `status`). */
export function backfillTable(backfills: BackfillSummary[]): string[] {
  const cells = [COLUMNS.map(([title]) => title), ...backfills.map((b) => COLUMNS.map(([, cell]) => cell(b)))];
  const widths = COLUMNS.map((_, index) => Math.max(...cells.map((row) => row[index]!.length)));
  return cells.map((row) =>
    row
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join('  ')
      .trimEnd(),
  );
}
