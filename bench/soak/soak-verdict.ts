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
}

export const WRITER_RATIO_TARGET = 0.95;
/** Growth allowed between the middle and the last third: 10 %, and never less than 1 MiB. */
export const GROWTH_FACTOR = 1.1;
export const GROWTH_SLACK_BYTES = 2 ** 20;

export const STOPPED_GROWING_RULE =
  'the outbox (heap + indexes) stopped growing: its largest size in the last third of the rows is at most ' +
  '1.1 × its largest size in the middle third (or at most 1 MiB above it, for an outbox of a few pages)';

export const outboxBytes = (row: SoakRow) => row.outbox.heapBytes + row.outbox.indexBytes;

/**
 * The thirds are of the rows, not of the clock, so a short final row counts as one row; the
 * first third is left out: that is where the outbox reaches its working size.
 */
export function judgeSustained(rows: SoakRow[]): SustainedVerdict {
  if (rows.length < 3) throw new Error(`a verdict needs at least 3 rows, got ${rows.length}: run longer or shorten --interval`);
  const third = Math.floor(rows.length / 3);
  const largest = (slice: SoakRow[]) => Math.max(...slice.map(outboxBytes));
  const middleThirdMaxBytes = largest(rows.slice(third, 2 * third));
  const lastThirdMaxBytes = largest(rows.slice(rows.length - third));
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
  };
}
