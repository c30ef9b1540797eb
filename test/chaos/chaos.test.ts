import { describe, expect, it } from 'vitest';
import { runScenario } from './chaos-plan.ts';
import { killStorm } from './scenarios/kill-storm.ts';
import { poisonEvents } from './scenarios/poison-events.ts';
import { throttling } from './scenarios/throttling.ts';
import { WAL_SETTINGS, walKillStorm } from './scenarios/wal-kill-storm.ts';
import { watchOptionsKillStorm } from './scenarios/watch-options-kill-storm.ts';

// The fast subset of `npm run chaos`; restarts, takeover and outages are in test/listener.
describe('chaos (fast subset)', () => {
  it('16 writers while the listener is SIGKILLed 4 times: every committed event is delivered', async () => {
    const result = await runScenario((env) => killStorm(env, { events: 2_000, writers: 16, kills: 4 }));
    expect(result.written).toBeGreaterThanOrEqual(2_000);
    expect(result.lost).toBe(0);
  }, 180_000);

  it('the same storm with coalesce and when watches: nothing lost, nothing merged across an insert or delete', async () => {
    const result = await runScenario((env) => watchOptionsKillStorm(env, { events: 2_000, writers: 16, kills: 4 }));
    expect(result.written).toBeGreaterThanOrEqual(1_000);
    expect(result.notes).not.toMatch(/^0 updates merged/);
    expect(result.lost).toBe(0);
    expect(result.violations).toBe(0);
  }, 180_000);

  it('the storm with "capture": "wal": every committed change is delivered, a change sent again keeps its id', async () => {
    const result = await runScenario((env) => walKillStorm(env, { events: 2_000, writers: 16, kills: 4 }), WAL_SETTINGS);
    expect(result.written).toBeGreaterThanOrEqual(2_000);
    expect(result.lost).toBe(0);
    expect(result.violations).toBe(0);
  }, 180_000);

  it('throttled calls and partial batch failures on FIFO: only failed entries are re-sent, row order holds', async () => {
    const result = await runScenario((env) => throttling(env, { events: 1_500, rates: { throttleCall: 0.2, failEntry: 0.2 } }));
    expect(result.notes).not.toMatch(/^0 calls and 0 entries failed/);
    expect(result.lost).toBe(0);
    expect(result.violations).toBe(0);
  }, 180_000);

  it('poison events are parked without blocking the rest and delivered after the fix', async () => {
    const result = await runScenario((env) => poisonEvents(env, { events: 100, poisonEvery: 20 }));
    expect(result.notes).toMatch(/^5 parked \(and logged: 5\)/);
    expect(result.lost).toBe(0);
    expect(result.violations).toBe(0);
  }, 180_000);
});
