import type { ListenerProcess } from '../../support/listener-process.ts';
import { spawnChaosListener, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector } from '../message-collector.ts';
import { recoverAfterFault, tally, type ScenarioResult } from '../scenario-result.ts';
import { runWriteLoad } from '../write-load.ts';

async function waitForLeader(listeners: ListenerProcess[], timeoutMs: number): Promise<ListenerProcess | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const listener of listeners) if ((await listener.role()) === 'leader') return listener;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return undefined;
}

/** Leader and standby under a steady load; the leader is killed again and again. */
export async function leaderTakeover(env: ChaosEnvironment, { kills, events }: { kills: number; events: number }): Promise<ScenarioResult> {
  const topicArn = await env.aws.createTopic('takeover');
  const queue = await env.aws.subscribeQueue(topicArn, 'takeover');
  const collector = new MessageCollector(env.aws.sqs, queue.url);
  collector.start();
  const spawn = () =>
    spawnChaosListener(
      env,
      { topicArn },
      {
        // info: the health endpoint's port is announced at info level.
        PGBRIDGE_LOG_LEVEL: 'info',
        // The production default (1 s) keeps takeover well inside the 5 s promise.
        PGBRIDGE_LEADER_RETRY_MS: '1000',
      },
    );
  let listeners = [spawn(), spawn()];
  const takeovers: number[] = [];
  const load = runWriteLoad({ url: env.url, writers: 4, events, pauseMs: 5 });
  for (let kill = 0; kill < kills; kill++) {
    const leader = await waitForLeader(listeners, 20_000);
    if (!leader) break;
    await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 1000));
    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    await leader.exited;
    listeners = listeners.filter((listener) => listener !== leader);
    const next = await waitForLeader(listeners, 20_000);
    if (next) takeovers.push(Date.now() - killedAt);
    listeners.push(spawn());
  }
  await load;
  const { written, recoverMs } = await recoverAfterFault(env, collector, listeners, 60_000);
  const worst = Math.max(...takeovers);
  const mean = Math.round(takeovers.reduce((sum, ms) => sum + ms, 0) / takeovers.length);
  return tally(
    `leader + standby, leader SIGKILLed ${takeovers.length}x`,
    written,
    collector.counts,
    recoverMs,
    `takeover mean ${mean} ms, max ${worst} ms`,
  );
}
