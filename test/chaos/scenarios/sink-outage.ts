import { readFileSync } from 'node:fs';
import type { ListenerProcess } from '../../support/listener-process.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { outboxCount, spawnChaosListener, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector } from '../message-collector.ts';
import { recoverAfterFault, tally, type ScenarioResult } from '../scenario-result.ts';
import { runWriteLoad } from '../write-load.ts';

function rssMb(listener: ListenerProcess): number {
  const status = readFileSync(`/proc/${listener.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** The network to SNS/SQS cut for `outageSeconds` while writers go on, then restored. */
export async function sinkOutage(
  env: ChaosEnvironment,
  { outageSeconds, events }: { outageSeconds: number; events: number },
): Promise<ScenarioResult> {
  const topicArn = await env.aws.createTopic('outage');
  const queue = await env.aws.subscribeQueue(topicArn, 'outage');
  const collector = new MessageCollector(env.aws.sqs, queue.url);
  collector.start();
  const proxy = new TcpProxy(env.emulator.port);
  await proxy.start();
  const listener = spawnChaosListener(
    env,
    { topicArn },
    {
      AWS_ENDPOINT_URL: proxy.url,
      PGBRIDGE_MAX_BACKOFF_MS: '5000',
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rssBefore = rssMb(listener);
  await proxy.cut();
  const load = runWriteLoad({ url: env.url, writers: 4, events, pauseMs: 1 });
  let rssPeak = rssBefore;
  const outageEnds = Date.now() + outageSeconds * 1000;
  while (Date.now() < outageEnds) {
    rssPeak = Math.max(rssPeak, rssMb(listener));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await load;
  const heldInOutbox = await outboxCount(env.url);
  await proxy.restore();
  const { written, recoverMs } = await recoverAfterFault(env, collector, [listener], 120_000);
  await proxy.cut();
  return tally(
    `SNS/SQS unreachable for ${outageSeconds} s`,
    written,
    collector.counts,
    recoverMs,
    `${heldInOutbox} events held in the outbox during the outage; listener RSS ${rssBefore.toFixed(0)} MB before, peak ${rssPeak.toFixed(0)} MB during`,
    // Waiting must not buffer: the events stay in Postgres, not in the listener's memory.
    rssPeak - rssBefore > 64 ? 1 : 0,
  );
}
