import type { HostSpeedAtEnds } from './measure/host-speed.ts';
import { pairedRoundsRatio } from './measure/paired-ratio.ts';
import type { BulkRun } from './phases/bulk-statements.ts';
import type { CaptureProfile } from './phases/capture-profile.ts';
import type { BacklogRun, CeilingRun } from './phases/ceilings-and-backlog.ts';
import type { CoalescingRun } from './phases/coalescing.ts';
import { isHeadlineCell, type EndToEndResults } from './phases/end-to-end.ts';
import { walBytesPerEvent } from './measure/wal-written.ts';
import type { WriterRun } from './phases/writer-throughput.ts';
import type { SoakResults } from './soak/soak-run.ts';
import type { WalCaptureResults } from './phases/wal-capture.ts';

/** Everything one run measured: what bench/results.json holds. */
export interface BenchResults {
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    node: string;
    postgres: string;
    emulator: string;
    /** Absent in runs from before it was measured. */
    hostSpeed?: HostSpeedAtEnds;
  };
  settings: Record<string, unknown>;
  writers: WriterRun[];
  /** One statement of 200,000 rows, one writer (issue 11). */
  bulk: BulkRun[];
  /** µs and WAL bytes per captured row, step by step (issue 11); absent when the phase did not run. */
  profile?: CaptureProfile;
  endToEnd: EndToEndResults;
  ceilings: CeilingRun[];
  backlog: BacklogRun[];
  coalescing: CoalescingRun[];
  soak: SoakResults[];
  /** `"capture": "wal"` on a wal_level = logical server of its own; absent when the phase did not run. */
  walCapture?: WalCaptureResults;
  durationSeconds: number;
  /** BENCH_MERGE: phases measured again later and merged into this run's results. */
  remeasured?: { phases: string[]; at: string; durationSeconds: number; hostSpeed: HostSpeedAtEnds }[];
}

export function writerRate(
  results: BenchResults,
  variant: WriterRun['variant'],
  workload: WriterRun['workload'],
  writers: number,
): number | undefined {
  return results.writers.find((run) => run.variant === variant && run.workload === workload && run.writers === writers)
    ?.transactionsPerSecond;
}

export interface TargetCheck {
  target: string;
  measured: string;
  /** Undefined: not measured, or a row that bounds a target rather than being one. */
  met: boolean | undefined;
}

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : undefined);
const fmt = (value: number | undefined, digits = 2) => (value === undefined ? 'not measured' : value.toFixed(digits));

/**
 * Events/s the machine could deliver if it did nothing but this run's work: every core busy, each
 * event costing what the writers, the listener, its backend and the emulator spent on it. Near
 * 1 × means the end-to-end figure is bound by the shared CPU, not by waiting.
 */
export function cpuBoundPerSecond(results: BenchResults, variant: string): number | undefined {
  const run = results.endToEnd.throughput.find((candidate) => candidate.variant === variant && isHeadlineCell(candidate));
  if (!run) return undefined;
  const msPerThousand =
    run.writersCpuMsPerThousand + run.listenerCpuMsPerThousand + run.listenerBackendCpuMsPerThousand + run.emulatorCpuMsPerThousand;
  return Number.isFinite(msPerThousand) && msPerThousand > 0 ? (results.machine.cores * 1e6) / msPerThousand : undefined;
}

/** The targets of issue 4, as ratios within this run. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const atLeast = (target: string, value: number | undefined, threshold: number, unit = '×') =>
    checks.push({
      target,
      measured: value === undefined ? 'not measured' : `${fmt(value, unit === '×' ? 2 : 0)}${unit}`,
      met: value === undefined ? undefined : value >= threshold,
    });
  const atMost = (target: string, value: number | undefined, threshold: number, unit: string) =>
    checks.push({
      target,
      measured: value === undefined ? 'not measured' : `${fmt(value, 0)} ${unit}`,
      met: value === undefined ? undefined : value <= threshold,
    });

  atLeast(
    'trigger only (listener paused) ≥ 0.7 × none, single-row inserts, 8 writers',
    ratio(writerRate(results, 'pgbridge-trigger', 'insert', 8), writerRate(results, 'none', 'insert', 8)),
    0.7,
  );
  for (const variant of ['pgbridge', 'pgbridge-fifo'] as const) {
    const label = variant === 'pgbridge' ? 'pgbridge' : 'pgbridge FIFO';
    atLeast(
      `${label} draining ≥ 1.2 × naive, single-row inserts, 8 writers`,
      ratio(writerRate(results, variant, 'insert', 8), writerRate(results, 'naive', 'insert', 8)),
      1.2,
    );
    atLeast(
      `${label} draining ≥ 1.5 × naive, single-row inserts, 32 writers`,
      ratio(writerRate(results, variant, 'insert', 32), writerRate(results, 'naive', 'insert', 32)),
      1.5,
    );
  }
  const e2e = (variant: string) =>
    results.endToEnd.throughput.find((run) => run.variant === variant && isHeadlineCell(run))?.deliveredPerSecond;
  const ceiling = (kind: 'drain' | 'sink', fifo: boolean) =>
    results.ceilings.find((run) => run.kind === kind && run.fifo === fifo)?.eventsPerSecond;
  const bound = (target: string, value: number | undefined) =>
    checks.push({ target, measured: value === undefined ? 'not measured' : `${fmt(value)}×`, met: undefined });
  atLeast('end-to-end throughput ≥ 10 × naive (10-row tx, 8 writers)', ratio(e2e('pgbridge'), e2e('naive')), 10);
  bound(
    '↳ bound on this machine: sink ceiling ÷ naive end to end (no design publishing through this emulator can do better)',
    ratio(ceiling('sink', false), e2e('naive')),
  );
  atLeast('end-to-end throughput ≥ 0.8 × sink ceiling (saturating writers)', ratio(e2e('pgbridge'), ceiling('sink', false)), 0.8);
  bound(
    '↳ end to end ÷ what the two cores allow: cores ÷ CPU per event (writers + listener + its backend + emulator)',
    ratio(e2e('pgbridge'), cpuBoundPerSecond(results, 'pgbridge')),
  );
  const backlog = results.backlog.find((run) => run.variant === 'pgbridge')?.eventsPerSecond;
  atLeast('backlog catch-up ≥ 0.8 × sink ceiling (no writers)', ratio(backlog, ceiling('sink', false)), 0.8);
  const p99 = results.endToEnd.delays.find((run) => run.variant === 'pgbridge' && run.offeredPerSecond === 500)?.p99;
  atMost('p99 delay ≤ 100 ms at 500 events/s', p99, 100, 'ms');
  const rss = Math.max(
    ...Object.entries(results.endToEnd.peakRssMb)
      .filter(([variant]) => variant !== 'naive')
      .map(([, mb]) => mb ?? 0),
    ...results.backlog.map((run) => run.peakRssMb),
  );
  atMost('listener peak RSS ≤ 150 MB', Number.isFinite(rss) && rss > 0 ? rss : undefined, 150, 'MB');
  atLeast('drain ceiling ≥ 20,000 events/s', ceiling('drain', false), 20_000, ' events/s');
  checks.push(...captureTaxTargets(results), ...walCaptureTargets(results));
  return checks;
}

/**
 * Issue 11's writer targets for `"capture": "wal"`, from the `wal` phase (its own server, with
 * wal_level = logical, "none" measured there too). Paused is the trigger-only figure's match:
 * the listener does nothing; for a WAL watch a killed listener is the same as a paused one.
 */
function walCaptureTargets(results: BenchResults): TargetCheck[] {
  const wal = results.walCapture;
  if (!wal || wal.skipped) return [];
  const checks: TargetCheck[] = [];
  const run = (variant: WriterRun['variant'], workload: WriterRun['workload']) =>
    wal.writers.find((candidate) => candidate.variant === variant && candidate.workload === workload);
  const check = (target: string, value: number | undefined, met: (value: number) => boolean) =>
    checks.push({
      target,
      measured: value === undefined ? 'not measured' : `${fmt(value)}×`,
      met: value === undefined ? undefined : met(value),
    });
  for (const [workload, threshold, what] of [
    ['insert', 0.85, 'single-row inserts'],
    ['update', 0.85, 'single-row updates'],
    ['tx10', 0.75, '10-row transactions'],
    ['insert-select', 0.6, 'insert-select (1,000 rows per statement)'],
    ['update-many', 0.6, 'update-many (1,000 rows per statement)'],
  ] as const)
    check(
      `capture: wal, listener paused ≥ ${threshold} × none, ${what}, 8 writers (issue 11)`,
      ratio(run('pgbridge-wal', workload)?.eventsPerSecond, run('none', workload)?.eventsPerSecond),
      (value) => value >= threshold,
    );
  for (const statement of ['insert-select', 'update-all'] as const) {
    const bulk = (variant: WriterRun['variant']) =>
      wal.bulk.find((candidate) => candidate.variant === variant && candidate.statement === statement);
    check(
      `capture: wal, captured rows/s ≥ 0.6 × none, one bulk ${statement} statement`,
      ratio(bulk('pgbridge-wal')?.rowsPerSecond, bulk('none')?.rowsPerSecond),
      (value) => value >= 0.6,
    );
  }
  for (const workload of ['insert', 'update', 'insert-select', 'update-many'] as const) {
    const perEvent = (variant: WriterRun['variant']) => {
      const measured = run(variant, workload);
      return measured ? walBytesPerEvent(measured.wal, measured.eventsWritten) : undefined;
    };
    check(
      `capture: wal, WAL per captured event ≤ 1.5 × the row change's own, ${workload}, 8 writers (full-page images left out)`,
      ratio(perEvent('pgbridge-wal-draining'), perEvent('none')),
      (value) => value <= 1.5,
    );
  }
  return checks;
}

/** The writers' targets of issue 11, as ratios within this run. */
function captureTaxTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const atLeast = (target: string, value: number | undefined, threshold: number) =>
    checks.push({
      target,
      measured: value === undefined ? 'not measured' : `${fmt(value)}×`,
      met: value === undefined ? undefined : value >= threshold,
    });
  const run = (variant: WriterRun['variant'], workload: WriterRun['workload'], writers: number) =>
    results.writers.find((candidate) => candidate.variant === variant && candidate.workload === workload && candidate.writers === writers);
  const rows = (variant: WriterRun['variant'], workload: WriterRun['workload'], writers: number) =>
    run(variant, workload, writers)?.eventsPerSecond;
  for (const [workload, threshold] of [
    ['insert', 0.85],
    ['update', 0.85],
    ['tx10', 0.75],
  ] as const)
    atLeast(
      `trigger only ≥ ${threshold} × none, ${workload === 'tx10' ? '10-row transactions' : `single-row ${workload}s`}, 8 writers (issue 11)`,
      ratio(rows('pgbridge-trigger', workload, 8), rows('none', workload, 8)),
      threshold,
    );
  // Per row (the default) and per statement (`capture: "statement"`, meant for these statements).
  const captures = [
    ['pgbridge-trigger', 'per row'],
    ['pgbridge-trigger-statement', 'capture: statement'],
  ] as const;
  for (const [variant, capture] of captures) {
    for (const workload of ['insert-select', 'update-many'] as const)
      atLeast(
        `captured rows/s ≥ 0.6 × none, ${workload} (1,000 rows per statement), 8 writers, ${capture}`,
        ratio(rows(variant, workload, 8), rows('none', workload, 8)),
        0.6,
      );
    for (const statement of ['insert-select', 'update-all'] as const) {
      const bulk = (candidateVariant: WriterRun['variant']) =>
        results.bulk.find((candidate) => candidate.variant === candidateVariant && candidate.statement === statement);
      atLeast(
        `captured rows/s ≥ 0.6 × none, one bulk ${statement} statement, ${capture}`,
        ratio(bulk(variant)?.rowsPerSecond, bulk('none')?.rowsPerSecond),
        0.6,
      );
    }
  }
  for (const writers of [8, 32]) {
    const target = `listener killed while idle ≥ 0.95 × trigger only, single-row inserts, ${writers} writers`;
    // A flag found clear means the crash was not reproduced: the figure would prove nothing.
    if (run('pgbridge-killed-idle', 'insert', writers)?.waitingFlagAtStart?.waiting === false)
      checks.push({ target, measured: 'waiting flag was clear when the writers started: not the case to measure', met: false });
    else {
      const killed = run('pgbridge-killed-idle', 'insert', writers);
      const trigger = run('pgbridge-trigger', 'insert', writers);
      atLeast(target, killed && trigger ? pairedRoundsRatio(killed, trigger) : undefined, 0.95);
    }
  }
  for (const workload of ['insert', 'update', 'insert-select', 'update-many'] as const) {
    const perEvent = (variant: WriterRun['variant']) => {
      const measured = run(variant, workload, 8);
      return measured ? walBytesPerEvent(measured.wal, measured.eventsWritten) : undefined;
    };
    const value = ratio(perEvent('pgbridge-trigger'), perEvent('none'));
    checks.push({
      target: `WAL per captured event ≤ 1.5 × the row change's own, ${workload}, 8 writers (full-page images left out)`,
      measured: value === undefined ? 'not measured' : `${fmt(value)}×`,
      met: value === undefined ? undefined : value <= 1.5,
    });
  }
  return checks;
}
