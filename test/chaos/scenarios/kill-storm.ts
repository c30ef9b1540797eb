import type { ListenerProcess } from '../../support/listener-process.ts';
import { spawnChaosListener, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector } from '../message-collector.ts';
import { recoverAfterFault, tally, type ScenarioResult } from '../scenario-result.ts';
import { runWriteLoad } from '../write-load.ts';

export interface KillStormOptions {
  events: number;
  writers: number;
  kills: number;
}

/** Writers at full speed while the listener is SIGKILLed at random moments and restarted. */
export async function killStorm(env: ChaosEnvironment, { events, writers, kills }: KillStormOptions): Promise<ScenarioResult> {
  const topicArn = await env.aws.createTopic('kill-storm');
  const queue = await env.aws.subscribeQueue(topicArn, 'kill-storm');
  const collector = new MessageCollector(env.aws.sqs, queue.url);
  collector.start();
  const spawn = () => spawnChaosListener(env, { topicArn });
  let listener: ListenerProcess = spawn();
  let killed = 0;
  const load = runWriteLoad({ url: env.url, writers, events });
  let loadDone = false;
  void load.then(() => (loadDone = true));
  while (killed < kills) {
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * (loadDone ? 300 : 1200)));
    listener.child.kill('SIGKILL');
    await listener.exited;
    killed++;
    listener = spawn();
  }
  const { failedTransactions } = await load;
  const { written, recoverMs } = await recoverAfterFault(env, collector, [listener], 120_000);
  return tally(
    `${written.size.toLocaleString('en')} events, ${writers} writers, listener SIGKILLed ${killed}x`,
    written,
    collector.counts,
    recoverMs,
    `${failedTransactions} writer transactions failed (no event expected for them)`,
  );
}
