import { describe, expect, it } from 'vitest';
import type { SoakRow } from '../../bench/soak/soak-row.ts';
import { judgeSustained } from '../../bench/soak/soak-verdict.ts';

// The soak's verdict decides whether the outbox bloats: it must tell a flat outbox from a growing one.

const MIB = 2 ** 20;
const row = (writerTransactionsPerSecond: number, outboxMiB: number, waiting = 0, deadTuples = 0): SoakRow => ({
  phase: 'sustained',
  atSeconds: 0,
  seconds: 60,
  writerTransactionsPerSecond,
  writerLatencyP99Ms: 1,
  writerMaxLagMs: 0,
  drainDelay: { count: 0, p50: 0, p99: 0, max: 0 },
  outbox: {
    rows: waiting,
    heapBytes: outboxMiB * MIB * 0.8,
    indexBytes: outboxMiB * MIB * 0.2,
    deadTuples,
    autovacuumCount: 0,
    newestId: null,
    waitingFlag: false,
  },
});

describe('sustained soak verdict', () => {
  it('passes an outbox that grows in the first third and then stays at its working size', () => {
    const verdict = judgeSustained([row(2000, 1), row(2000, 8), row(2000, 20), row(2000, 20), row(2000, 19), row(2000, 21)]);
    expect(verdict).toMatchObject({ middleThirdMaxBytes: 20 * MIB, lastThirdMaxBytes: 21 * MIB, outboxStoppedGrowing: true });
  });

  it('fails an outbox that keeps growing after the first third', () => {
    const verdict = judgeSustained([row(2000, 1), row(2000, 10), row(2000, 20), row(2000, 30), row(2000, 40), row(2000, 50)]);
    expect(verdict).toMatchObject({ middleThirdMaxBytes: 30 * MIB, lastThirdMaxBytes: 50 * MIB, outboxStoppedGrowing: false });
  });

  it('tells a listener falling behind (events waiting grow) from an outbox of dead space', () => {
    const backlog = judgeSustained([row(2000, 5, 20_000), row(2000, 10, 40_000), row(2000, 20, 80_000), row(2000, 40, 160_000, 900)]);
    expect(backlog).toMatchObject({
      outboxStoppedGrowing: false,
      listenerKeptUp: false,
      lastThirdMaxWaiting: 160_000,
      lastThirdMaxDeadTuples: 900,
    });
    const bloat = judgeSustained([row(2000, 5, 300), row(2000, 10, 350), row(2000, 20, 280, 500_000)]);
    expect(bloat).toMatchObject({ outboxStoppedGrowing: false, listenerKeptUp: true, lastThirdMaxDeadTuples: 500_000 });
  });

  it('lets an outbox of a few pages wobble by up to 1 MiB', () => {
    expect(judgeSustained([row(2000, 0.2), row(2000, 0.3), row(2000, 0.9)]).outboxStoppedGrowing).toBe(true);
  });

  it('fails writers whose last interval is below 0.95 × the first', () => {
    expect(judgeSustained([row(2000, 1), row(2000, 1), row(1890, 1)])).toMatchObject({ writerRatio: 0.945, writersKeptPace: false });
    expect(judgeSustained([row(2000, 1), row(2000, 1), row(1900, 1)]).writersKeptPace).toBe(true);
  });

  it('refuses to judge fewer than three rows', () => {
    expect(() => judgeSustained([row(2000, 1), row(2000, 1)])).toThrow(/at least 3 rows, got 2/);
  });
});
