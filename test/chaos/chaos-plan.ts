import { startChaosEnvironment, type ChaosEnvironment } from './chaos-environment.ts';
import type { ScenarioResult } from './scenario-result.ts';
import { consumerFailures } from './scenarios/consumer-failures.ts';
import { killStorm } from './scenarios/kill-storm.ts';
import { leaderTakeover } from './scenarios/leader-takeover.ts';
import { poisonEvents } from './scenarios/poison-events.ts';
import { postgresRestart } from './scenarios/postgres-restart.ts';
import { sinkOutage } from './scenarios/sink-outage.ts';
import { throttling } from './scenarios/throttling.ts';
import { walKillStorm, WAL_SETTINGS } from './scenarios/wal-kill-storm.ts';
import { watchOptionsKillStorm } from './scenarios/watch-options-kill-storm.ts';

export type ChaosSize = 'full' | 'quick';

type Scenario = ((env: ChaosEnvironment) => Promise<ScenarioResult>) & { settings?: Record<string, string> };

/** A scenario that needs its server started with these settings. */
function withSettings(scenario: Scenario, settings: Record<string, string>): Scenario {
  return Object.assign(scenario, { settings });
}

/** The scenarios of `npm run chaos`; `quick` is the subset sized for `npm test`. */
export function chaosPlan(size: ChaosSize): Scenario[] {
  const full = size === 'full';
  return [
    (env) => killStorm(env, { events: full ? 50_000 : 3_000, writers: 16, kills: full ? 10 : 4 }),
    (env) => watchOptionsKillStorm(env, { events: full ? 20_000 : 3_000, writers: 16, kills: full ? 10 : 4 }),
    withSettings((env) => walKillStorm(env, { events: full ? 20_000 : 3_000, writers: 16, kills: full ? 10 : 4 }), WAL_SETTINGS),
    (env) => leaderTakeover(env, { kills: full ? 5 : 2, events: full ? 5_000 : 1_000 }),
    (env) => postgresRestart(env, { events: full ? 10_000 : 2_000 }),
    (env) => sinkOutage(env, { outageSeconds: full ? 30 : 3, events: full ? 10_000 : 1_000 }),
    (env) => throttling(env, { events: full ? 10_000 : 2_000, rates: { throttleCall: 0.2, failEntry: 0.2 } }),
    (env) => poisonEvents(env, { events: full ? 2_000 : 200, poisonEvery: full ? 50 : 20 }),
    (env) => consumerFailures(env, { events: full ? 2_000 : 300, poisonEvery: 25 }),
  ];
}

/** Each scenario on a fresh database and emulator, so one cannot hide another's losses. */
export async function runScenario(scenario: Scenario, settings = scenario.settings): Promise<ScenarioResult> {
  const env = await startChaosEnvironment(settings);
  try {
    return await scenario(env);
  } finally {
    await env.stop();
  }
}
