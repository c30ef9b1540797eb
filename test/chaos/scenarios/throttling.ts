import { FaultySqsProxy } from '../../support/faulty-sqs-proxy.ts';
import { spawnChaosListener, writtenIds, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector } from '../message-collector.ts';
import { tally, waitForDelivery, type ScenarioResult } from '../scenario-result.ts';
import { runWriteLoad } from '../write-load.ts';

/** Rows whose delivered event ids are not increasing: per-row order broken. */
export function rowsOutOfOrder(collector: MessageCollector): number {
  const lastId = new Map<number, bigint>();
  const seen = new Set<string>();
  let outOfOrder = 0;
  for (const event of collector.events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    const id = BigInt(event.id);
    const previous = lastId.get(event.key);
    if (previous !== undefined && id < previous) outOfOrder++;
    lastId.set(event.key, id);
  }
  return outOfOrder;
}

/**
 * A FIFO queue behind a proxy that throttles whole calls and fails entries inside batches.
 * Only failed entries may be sent again, and each row's events must still arrive in order.
 */
export async function throttling(
  env: ChaosEnvironment,
  { events, rates }: { events: number; rates: FaultySqsProxy['rates'] },
): Promise<ScenarioResult> {
  const queue = await env.aws.createQueue('throttled.fifo');
  // One receiver: a FIFO group's next message is only visible once the previous is deleted.
  const collector = new MessageCollector(env.aws.sqs, queue.url, 1);
  collector.start();
  const proxy = new FaultySqsProxy(env.emulator.port, rates);
  await proxy.start();
  const listener = spawnChaosListener(
    env,
    { queueUrl: proxy.proxiedQueueUrl(queue.url) },
    {
      AWS_ENDPOINT_URL: proxy.url,
    },
  );
  await runWriteLoad({ url: env.url, writers: 8, events });
  const written = await writtenIds(env.url);
  // Faults stay on for most of the drain, then the endpoint heals so the run can finish.
  const deadline = Date.now() + 60_000;
  while (collector.distinct < written.size * 0.8 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  proxy.rates = { throttleCall: 0, failEntry: 0 };
  const faultEnded = Date.now();
  const waited = await waitForDelivery(written, collector, 120_000);
  await collector.stop();
  listener.child.kill('SIGTERM');
  await listener.exited;
  await proxy.stop();
  let acceptedOutOfOrder = 0;
  for (const ids of proxy.acceptedByGroup.values()) {
    for (let i = 1; i < ids.length; i++) if (BigInt(ids[i]!) < BigInt(ids[i - 1]!)) acceptedOutOfOrder++;
  }
  let acceptedTwice = 0;
  for (const count of proxy.accepted.values()) if (count > 1) acceptedTwice++;
  const receivedOutOfOrder = rowsOutOfOrder(collector);
  return tally(
    `FIFO, ${Math.round(rates.throttleCall * 100)}% calls throttled, ${Math.round(rates.failEntry * 100)}% entries failed`,
    written,
    collector.counts,
    waited === null ? null : Date.now() - faultEnded,
    `${proxy.injectedCallFailures} calls and ${proxy.injectedEntryFailures} entries failed; accepted entries sent again: ${acceptedTwice}; ` +
      `out of row order: ${acceptedOutOfOrder} accepted, ${receivedOutOfOrder} received`,
    acceptedOutOfOrder + receivedOutOfOrder + acceptedTwice,
  );
}
