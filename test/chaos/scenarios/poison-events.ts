import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { statement } from '../../../lib/capture/sql-files.ts';
import { spawnChaosListener, writtenIds, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector } from '../message-collector.ts';
import { tally, waitForDelivery, type ScenarioResult } from '../scenario-result.ts';

/**
 * Some rows are larger than the queue accepts (its MaximumMessageSize): the sink rejects them on
 * every attempt. They must be parked without holding up the others, then re-sent once fixed.
 */
export async function poisonEvents(
  env: ChaosEnvironment,
  { events, poisonEvery }: { events: number; poisonEvery: number },
): Promise<ScenarioResult> {
  const queue = await env.aws.createQueue('poison', { MaximumMessageSize: '2048' });
  const collector = new MessageCollector(env.aws.sqs, queue.url);
  collector.start();
  const listener = spawnChaosListener(
    env,
    { queueUrl: queue.url },
    {
      PGBRIDGE_LOG_LEVEL: 'error',
    },
  );
  const client = new pg.Client(env.url);
  await client.connect();
  // All at once: a backlog larger than a drain round, drained by both connections, so a poison
  // event is retried while other rounds go on around it.
  await client.query(
    `INSERT INTO chaos_rows (note)
     SELECT CASE WHEN g % $2 = 0 THEN repeat('p', 4000) ELSE 'ok ' || g END FROM generate_series(1, $1::int) AS g`,
    [events, poisonEvery],
  );
  const written = await writtenIds(env.url);
  const poisonCount = Math.floor(events / poisonEvery);
  const deadline = Date.now() + 60_000;
  let parked = 0;
  while (Date.now() < deadline) {
    parked = (await client.query(`SELECT count(*)::int AS n FROM pgbridge.parked`)).rows[0].n;
    if (parked >= poisonCount && collector.distinct >= events - poisonCount) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const healthyDelivered = collector.distinct;

  await env.aws.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { MaximumMessageSize: '262144' } }));
  const fixedAt = Date.now();
  await client.query(statement('admin/parked-resend'), [null]);
  await client.end();
  const waited = await waitForDelivery(await writtenIds(env.url), collector, 60_000);
  await collector.stop();
  listener.child.kill('SIGTERM');
  await listener.exited;
  const parkedLogged = listener.logs.filter((line) => String(line.msg).startsWith('event parked')).length;
  return tally(
    `poison events: 1 in ${poisonEvery} over the queue's size limit`,
    written,
    collector.counts,
    waited === null ? null : Date.now() - fixedAt,
    `${parked} parked (and logged: ${parkedLogged}) while ${healthyDelivered} others went through; all re-sent after the fix`,
    parked === poisonCount ? 0 : 1,
  );
}
