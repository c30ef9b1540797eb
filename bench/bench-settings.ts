import type { WorkloadName } from './load/workloads.ts';

/** What one `npm run bench` measures and for how long; `--quick` is a smoke run. */
export interface BenchSettings {
  quick: boolean;
  /** Measured window of each writer run. */
  seconds: number;
  warmupSeconds: number;
  workloads: WorkloadName[];
  writerCounts: number[];
  /** Workloads of one statement changing many rows, and their writer counts (issue 11). */
  multiRowWorkloads: WorkloadName[];
  multiRowWriterCounts: number[];
  /** Rows of each bulk statement, and how many times each variant runs them (medians kept). */
  bulkRows: number;
  bulkRepetitions: number;
  /** Capture profile: rows per statement of its shapes, and interleaved rounds (medians kept). */
  profileRowsPerStatement: number[];
  profileRounds: number;
  /** Offered loads of the end-to-end delay runs, events/s. */
  offeredLoads: number[];
  delaySeconds: number;
  /** Events waiting in the outbox for the catch-up and drain-ceiling runs. */
  backlogEvents: number;
  /** Events per end-to-end cell, and for the headline cell the targets compare. */
  e2eCellEvents: number;
  e2eHeadlineEvents: number;
  /** Rounds of the writer cells the targets compare (median kept); BENCH_TARGET_ROUNDS. */
  targetCellRounds: number;
  /** Updates of the hot rows in each coalescing run; BENCH_COALESCE_UPDATES. */
  coalesceUpdates: number;
  /** Subset of phases to run (BENCH_PHASES=writers,bulk,profile,e2e,delay,ceilings,backlog,coalesce,soak,wal). */
  phases: Set<string>;
  /**
   * BENCH_MERGE=1: the phases run replace theirs in the committed bench/results.json and the rest
   * is kept, with the report saying which phases were measured again, when.
   */
  merge: boolean;
}

export const ALL_PHASES = ['writers', 'bulk', 'profile', 'e2e', 'delay', 'ceilings', 'backlog', 'coalesce', 'soak', 'wal'] as const;

export function readBenchSettings(argv: string[], env: NodeJS.ProcessEnv): BenchSettings {
  const quick = argv.includes('--quick');
  const number = (name: string, fallback: number) => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
    return parsed;
  };
  const phases = new Set((env.BENCH_PHASES ?? ALL_PHASES.join(',')).split(',').map((phase) => phase.trim()));
  for (const phase of phases) {
    if (!(ALL_PHASES as readonly string[]).includes(phase))
      throw new Error(`BENCH_PHASES: unknown phase "${phase}" (phases: ${ALL_PHASES.join(', ')})`);
  }
  return {
    quick,
    seconds: number('BENCH_SECONDS', quick ? 1 : 3),
    warmupSeconds: number('BENCH_WARMUP_SECONDS', quick ? 0.3 : 0.5),
    workloads: quick ? ['insert'] : ['insert', 'update', 'tx10'],
    writerCounts: quick ? [8] : [1, 8, 32],
    multiRowWorkloads: ['insert-select', 'update-many'],
    multiRowWriterCounts: quick ? [8] : [1, 8],
    bulkRows: Math.round(number('BENCH_BULK_ROWS', quick ? 20_000 : 200_000)),
    bulkRepetitions: quick ? 1 : 3,
    profileRowsPerStatement: [1, 1_000],
    profileRounds: quick ? 1 : 3,
    offeredLoads: [500, 2000],
    delaySeconds: number('BENCH_DELAY_SECONDS', quick ? 2 : 5),
    backlogEvents: number('BENCH_BACKLOG', quick ? 20_000 : 200_000),
    e2eCellEvents: number('BENCH_E2E_EVENTS', quick ? 3_000 : 6_000),
    e2eHeadlineEvents: quick ? 5_000 : 20_000,
    targetCellRounds: Math.round(number('BENCH_TARGET_ROUNDS', quick ? 1 : 5)),
    coalesceUpdates: Math.round(number('BENCH_COALESCE_UPDATES', quick ? 2_000 : 10_000)),
    phases,
    merge: env.BENCH_MERGE === '1',
  };
}
