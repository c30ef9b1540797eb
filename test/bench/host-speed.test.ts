import { describe, expect, it } from 'vitest';
import { describeHostSpeed, measureHostSpeed } from '../../bench/measure/host-speed.ts';

describe("the bench's host-speed probe", () => {
  it('measures a CPU loop and a synchronous 8 KiB write on this host', () => {
    const speed = measureHostSpeed();
    expect(speed.cpuMs).toBeGreaterThan(0);
    expect(speed.fsyncUs).toBeGreaterThan(0);
    expect(Number.isFinite(speed.cpuMs + speed.fsyncUs)).toBe(true);
  });

  it('reports the figures, and warns when the host got slower or faster by more than 1.3 × during the run', () => {
    const steady = describeHostSpeed({ start: { cpuMs: 200, fsyncUs: 900 }, end: { cpuMs: 240, fsyncUs: 800 } });
    expect(steady).toContain('a fixed CPU loop 200 ms at the start, 240 ms at the end');
    expect(steady).toContain('fdatasync 900 µs / 800 µs');
    expect(steady).not.toContain('changed');

    const slowed = describeHostSpeed({ start: { cpuMs: 200, fsyncUs: 900 }, end: { cpuMs: 420, fsyncUs: 300 } });
    expect(slowed).toContain(
      "**The host's speed changed during this run** (CPU loop 2.1 × slower at the end; fdatasync 3.0 × faster at the end)",
    );
  });
});
