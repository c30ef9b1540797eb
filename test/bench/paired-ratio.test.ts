import { describe, expect, it } from 'vitest';
import { pairedRoundsRatio } from '../../bench/measure/paired-ratio.ts';
import type { WriterRun } from '../../bench/phases/writer-throughput.ts';

const run = (rounds: number[] | undefined, transactionsPerSecond: number): WriterRun => ({
  variant: 'pgbridge-killed-idle',
  workload: 'insert',
  writers: 8,
  transactionsPerSecond,
  eventsPerSecond: transactionsPerSecond,
  wal: { bytes: 0 },
  eventsWritten: 0,
  ...(rounds ? { roundsTransactionsPerSecond: rounds } : {}),
});

describe('the ratio of two variants measured in the same rounds', () => {
  it("is the median of the rounds' own ratios, so a round the host slowed for both moves nothing", async () => {
    // Round 2 ran at half speed for both: the medians' ratio says 0.8, the rounds say 1.0.
    const killed = run([10_000, 4_000, 10_000], 10_000);
    const trigger = run([10_000, 4_000, 12_500], 10_000);
    expect(pairedRoundsRatio(killed, trigger)).toBeCloseTo(1.0);
    expect(pairedRoundsRatio(run([9_000, 5_000, 8_000, 7_000], 8_000), run([10_000, 10_000, 10_000, 10_000], 10_000))).toBeCloseTo(0.75);
  });

  it('falls back to the plain ratio when the rounds do not pair up', async () => {
    expect(pairedRoundsRatio(run(undefined, 900), run([1_000, 1_000, 1_000], 1_000))).toBeCloseTo(0.9);
    expect(pairedRoundsRatio(run([900, 900], 900), run([1_000, 1_000, 1_000], 1_000))).toBeCloseTo(0.9);
  });
});
