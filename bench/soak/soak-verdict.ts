import type { SoakRow } from './soak-row.ts';

/** Issue 11's targets for the sustained run, each with the figures it was decided on. */
export interface SustainedVerdict {
  firstTransactionsPerSecond: number;
  lastTransactionsPerSecond: number;
  /** Last interval ÷ first; the target is ≥ 0.95. */
  writerRatio: number;
  writersKeptPace: boolean;
  /** Largest heap + index size of the middle and of the last third of the rows, bytes. */
  middleThirdMaxBytes: number;
  lastThirdMaxBytes: number;
  outboxStoppedGrowing: boolean;
  /**
   * Tells a backlog from bloat when the outbox grew: events waiting (largest count of each third)
   * and dead tuples (largest of the last third); a growing outbox with growing waiting rows and
   * few dead tuples is a listener falling behind, not deletes outrunning autovacuum.
   */
  middleThirdMaxWaiting: number;
  lastThirdMaxWaiting: number;
  listenerKeptUp: boolean;
  lastThirdMaxDeadTuples: number;
}

export const WRITER_RATIO_TARGET = 0.95;
/** Growth allowed between the middle and the last third: 10 %, and never less than 1 MiB. */
export const GROWTH_FACTOR = 1.1;
export const GROWTH_SLACK_BYTES = 2 ** 20;

export const STOPPED_GROWING_RULE =
  'the outbox (heap + indexes) stopped growing: its largest size in the last third of the rows is at most ' +
  '1.1 × its largest size in the middle third (or at most 1 MiB above it, for an outbox of a few pages)';

export const KEPT_UP_RULE =
  'the listener kept up: the most events waiting in the last third of the rows is at most 1.1 × the most in the middle third (or at most 1,000 above it)';
const WAITING_SLACK = 1000;

export const outboxBytes = (row: SoakRow) => row.outbox.heapBytes + row.outbox.indexBytes;

/**
 * The thirds are of the rows, not of the clock, so a short final row counts as one row; the
 * first third is left out: that is where the outbox reaches its working size.
 */
export function judgeSustained(rows: SoakRow[]): SustainedVerdict {
  if (rows.length < 3) throw new Error(`a verdict needs at least 3 rows, got ${rows.length}: run longer or shorten --interval`);
  const third = Math.floor(rows.length / 3);
  const [middle, lastThird] = [rows.slice(third, 2 * third), rows.slice(rows.length - third)];
  const largest = (slice: SoakRow[], figure: (row: SoakRow) => number) => Math.max(...slice.map(figure));
  const middleThirdMaxBytes = largest(middle, outboxBytes);
  const lastThirdMaxBytes = largest(lastThird, outboxBytes);
  const middleThirdMaxWaiting = largest(middle, (row) => row.outbox.rows);
  const lastThirdMaxWaiting = largest(lastThird, (row) => row.outbox.rows);
  const first = rows[0]!.writerTransactionsPerSecond;
  const last = rows.at(-1)!.writerTransactionsPerSecond;
  return {
    firstTransactionsPerSecond: first,
    lastTransactionsPerSecond: last,
    writerRatio: last / first,
    writersKeptPace: last / first >= WRITER_RATIO_TARGET,
    middleThirdMaxBytes,
    lastThirdMaxBytes,
    outboxStoppedGrowing: lastThirdMaxBytes <= Math.max(GROWTH_FACTOR * middleThirdMaxBytes, middleThirdMaxBytes + GROWTH_SLACK_BYTES),
    middleThirdMaxWaiting,
    lastThirdMaxWaiting,
    listenerKeptUp: lastThirdMaxWaiting <= Math.max(GROWTH_FACTOR * middleThirdMaxWaiting, middleThirdMaxWaiting + WAITING_SLACK),
    lastThirdMaxDeadTuples: largest(lastThird, (row) => row.outbox.deadTuples),
  };
}
