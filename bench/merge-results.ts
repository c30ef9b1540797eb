import type { BenchResults } from './bench-results.ts';

/** Which part of the results each phase fills (e2e and delay share one). */
const PHASE_RESULTS: Record<string, keyof BenchResults> = {
  writers: 'writers',
  bulk: 'bulk',
  profile: 'profile',
  e2e: 'endToEnd',
  delay: 'endToEnd',
  ceilings: 'ceilings',
  backlog: 'backlog',
  coalesce: 'coalescing',
  soak: 'soak',
  wal: 'walCapture',
};

/**
 * The earlier run's results with the phases of `fresh` in place of its own, and a record of what
 * was measured again, when: a change that touches one phase's code is measured again without
 * rerunning the rest, and the report says which figures come from which run.
 */
export function mergeIntoEarlierRun(earlier: BenchResults, fresh: BenchResults, phases: Set<string>, at: Date): BenchResults {
  const merged: BenchResults = { ...earlier };
  const replaced = new Set([...phases].map((phase) => PHASE_RESULTS[phase]!));
  for (const key of replaced) (merged as unknown as Record<string, unknown>)[key] = fresh[key];
  merged.remeasured = [
    ...(earlier.remeasured ?? []),
    {
      phases: [...phases],
      at: at.toISOString(),
      durationSeconds: fresh.durationSeconds,
      hostSpeed: fresh.machine.hostSpeed!,
    },
  ];
  return merged;
}
