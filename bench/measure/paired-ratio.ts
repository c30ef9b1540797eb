import type { WriterRun } from '../phases/writer-throughput.ts';

/**
 * `run` ÷ `base` for two variants measured in the same rounds, one right after the other: the
 * median of the rounds' own ratios. On a shared machine the host's load moves whole rounds by a
 * third; a ratio taken within each round cancels that, a ratio of two medians does not.
 */
export function pairedRoundsRatio(run: WriterRun, base: WriterRun): number {
  const rounds = run.roundsTransactionsPerSecond;
  const baseRounds = base.roundsTransactionsPerSecond;
  if (!rounds || !baseRounds || rounds.length !== baseRounds.length) return run.transactionsPerSecond / base.transactionsPerSecond;
  const ratios = rounds.map((value, round) => value / baseRounds[round]!).sort((a, b) => a - b);
  const middle = Math.floor(ratios.length / 2);
  return ratios.length % 2 === 1 ? ratios[middle]! : (ratios[middle - 1]! + ratios[middle]!) / 2;
}
