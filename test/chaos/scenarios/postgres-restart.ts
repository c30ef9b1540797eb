import { spawnChaosListener, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector } from '../message-collector.ts';
import { recoverAfterFault, tally, type ScenarioResult } from '../scenario-result.ts';
import { runWriteLoad } from '../write-load.ts';

/** Postgres stopped (fast, then immediate: a crash) and started again under load. */
export async function postgresRestart(env: ChaosEnvironment, { events }: { events: number }): Promise<ScenarioResult> {
  const topicArn = await env.aws.createTopic('pg-restart');
  const queue = await env.aws.subscribeQueue(topicArn, 'pg-restart');
  const collector = new MessageCollector(env.aws.sqs, queue.url);
  collector.start();
  const listener = spawnChaosListener(env, { topicArn });
  const load = runWriteLoad({ url: env.url, writers: 8, events, pauseMs: 2 });
  for (const mode of ['fast', 'immediate'] as const) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await env.server.stop(mode);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await env.server.start();
  }
  const { failedTransactions } = await load;
  const { written, recoverMs } = await recoverAfterFault(env, collector, [listener], 60_000);
  const reconnects = listener.logs.filter((line) => line.msg === 'listener failed, reconnecting').length;
  return tally(
    'Postgres restarted (fast, then immediate) under load',
    written,
    collector.counts,
    recoverMs,
    `${reconnects} reconnect attempts logged, ${failedTransactions} writer transactions failed during restarts`,
    // Two short outages with 250 ms doubling backoff: a few dozen attempts at most, not a spin.
    reconnects > 40 ? 1 : 0,
  );
}
