import type { BenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import { runSoak, type SoakResults } from '../soak/soak-run.ts';
import type { SoakSettings } from '../soak/soak-settings.ts';

const RATE = 2000;
const WRITERS = 8;

/**
 * `npm run soak` in short: a minute of sustained load and a 30 s listener outage at 2,000
 * events/s, so every bench run shows whether the outbox stays flat and how fast a crash is caught
 * up; the 15-minute and 30-minute runs are `npm run soak`'s.
 */
export async function measureSoak(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<SoakResults[]> {
  const interval = settings.quick ? 5 : 10;
  const sustained: SoakSettings = { eventsPerSecond: RATE, writers: WRITERS, intervalSeconds: interval, seconds: settings.quick ? 15 : 60 };
  const outage: SoakSettings = {
    ...sustained,
    outage: { beforeSeconds: interval, outageSeconds: settings.quick ? 10 : 30, catchUpTimeoutSeconds: 120 },
  };
  return [await runSoak(env, sustained, progress), await runSoak(env, outage, progress)];
}
