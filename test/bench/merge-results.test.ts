import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/bench-results.ts';
import { mergeIntoEarlierRun } from '../../bench/merge-results.ts';
import { renderMarkdown } from '../../bench/report/markdown-report.ts';

const speed = (cpuMs: number) => ({ start: { cpuMs, fsyncUs: 90 }, end: { cpuMs, fsyncUs: 90 } });

function results(label: string, cpuMs: number): BenchResults {
  return {
    machine: { cpu: label, cores: 2, memoryGiB: 24, node: 'v20', postgres: '18.4', emulator: 'fauxqs', hostSpeed: speed(cpuMs) },
    settings: {},
    writers: [],
    bulk: [{ label } as never],
    endToEnd: { label } as never,
    ceilings: [],
    backlog: [],
    coalescing: [],
    soak: [],
    durationSeconds: label === 'earlier' ? 1400 : 400,
  };
}

describe('a bench phase measured again and merged into the committed results (BENCH_MERGE=1)', () => {
  it('replaces only the phases run, keeps the rest and the earlier machine, and records when', () => {
    const merged = mergeIntoEarlierRun(results('earlier', 70), results('fresh', 120), new Set(['bulk']), new Date('2026-12-07T03:30:00Z'));
    expect(merged.bulk).toEqual([{ label: 'fresh' }]);
    expect(merged.endToEnd).toEqual({ label: 'earlier' });
    expect(merged.machine.cpu).toBe('earlier');
    expect(merged.durationSeconds).toBe(1400);
    expect(merged.remeasured).toEqual([{ phases: ['bulk'], at: '2026-12-07T03:30:00.000Z', durationSeconds: 400, hostSpeed: speed(120) }]);
    const again = mergeIntoEarlierRun(merged, results('third', 80), new Set(['e2e']), new Date('2026-12-07T04:00:00Z'));
    expect(again.remeasured!.map((entry) => entry.phases)).toEqual([['bulk'], ['e2e']]);
    expect(again.endToEnd).toEqual({ label: 'third' });
  });

  it('says in the report which phase was measured again, when, and at what host speed', () => {
    const committed = JSON.parse(readFileSync(new URL('../../bench/results.json', import.meta.url), 'utf8')) as BenchResults;
    const fresh = { ...committed, machine: { ...committed.machine, hostSpeed: speed(120) }, durationSeconds: 400 };
    const report = renderMarkdown(mergeIntoEarlierRun(committed, fresh, new Set(['wal']), new Date('2026-12-07T03:30:00Z')));
    expect(report).toContain('**Measured again** and merged in (BENCH_MERGE): phase wal on 2026-12-07 03:30 UTC, 400 s');
    expect(report).toContain('a fixed CPU loop 120 ms');
  });
});
