import pg from 'pg';
import { install } from '../../../lib/capture/installer.ts';
import { parseConfig } from '../../../lib/config/watch-config.ts';
import type { ListenerProcess } from '../../support/listener-process.ts';
import { spawnChaosListener, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector } from '../message-collector.ts';
import type { ScenarioResult } from '../scenario-result.ts';
import { runWriteLoad } from '../write-load.ts';

export const WAL_SETTINGS = { wal_level: 'logical', max_replication_slots: '4', max_wal_senders: '4' };
const WAL_CONFIG = {
  watches: [
    { table: 'chaos_rows', capture: 'wal' },
    // A WAL watch with a row condition, which the listener evaluates in Postgres round by round.
    { table: 'chaos_rows', label: 'even', capture: 'wal', actions: ['update'], when: 'NEW.value % 2 = 0' },
  ],
};
const passesCondition = (change: string) => change.startsWith('update:') && Number(change.split(':')[2]) % 2 === 0;

/**
 * The kill storm with `"capture": "wal"`: the outbox sees none of these events, so the ground
 * truth is a plain audit trigger on the table that records every committed change as
 * action:key:value (values only grow, so each is unique), checked against the events received.
 * A change received twice must carry the same event id both times (a violation otherwise).
 * The `even` watch must send every update to an even value, and nothing else.
 */
export async function walKillStorm(
  env: ChaosEnvironment,
  { events, writers, kills }: { events: number; writers: number; kills: number },
): Promise<ScenarioResult> {
  const client = new pg.Client(env.url);
  await client.connect();
  await install(client, parseConfig(WAL_CONFIG));
  await client.query(`
    CREATE TABLE chaos_changes (change text PRIMARY KEY);
    CREATE FUNCTION record_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO public.chaos_changes VALUES (CASE TG_OP WHEN 'DELETE' THEN 'delete:' || OLD.id || ':' || OLD.value
                                                          ELSE lower(TG_OP) || ':' || NEW.id || ':' || NEW.value END);
      RETURN NULL;
    END $$;
    CREATE TRIGGER record_change AFTER INSERT OR UPDATE OR DELETE ON chaos_rows FOR EACH ROW EXECUTE FUNCTION record_change();
  `);
  const topicArn = await env.aws.createTopic('wal-kill-storm');
  const queue = await env.aws.subscribeQueue(topicArn, 'wal-kill-storm');
  const collector = new MessageCollector(env.aws.sqs, queue.url);
  collector.start();
  const spawn = () => spawnChaosListener(env, { topicArn }, { PGBRIDGE_CONFIG_JSON: JSON.stringify(WAL_CONFIG) });
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
  const faultEnded = Date.now();
  const written = new Set((await client.query(`SELECT change FROM chaos_changes`)).rows.map((row) => row.change as string));
  await client.end();
  // A delete's `row` is the row before it: its value is the one the audit trigger recorded.
  const changeOf = (event: MessageCollector['events'][number]) => `${event.action}:${event.key}:${event.value}`;
  const writtenEven = [...written].filter(passesCondition);
  let recoverMs: number | null = null;
  while (Date.now() - faultEnded < 120_000) {
    const received = new Set(collector.events.filter((event) => event.label === null).map(changeOf));
    const receivedEven = new Set(collector.events.filter((event) => event.label === 'even').map(changeOf));
    if ([...written].every((change) => received.has(change)) && writtenEven.every((change) => receivedEven.has(change))) {
      recoverMs = Date.now() - faultEnded;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await collector.stop();
  listener.child.kill('SIGTERM');
  await listener.exited;

  const idsPerChange = new Map<string, Set<string>>();
  const received = new Map<string, number>();
  for (const event of collector.events) {
    const change = `${event.label ?? ''}|${changeOf(event)}`;
    idsPerChange.set(change, (idsPerChange.get(change) ?? new Set()).add(event.id));
    received.set(change, (received.get(change) ?? 0) + 1);
  }
  let delivered = 0;
  for (const change of written) if (received.has(`|${change}`)) delivered++;
  const deliveredEven = writtenEven.filter((change) => received.has(`even|${change}`)).length;
  const failingCondition = collector.events.filter((event) => event.label === 'even' && !passesCondition(changeOf(event))).length;
  let duplicated = 0;
  for (const count of received.values()) duplicated += count - 1;
  const newIds = [...idsPerChange.values()].filter((ids) => ids.size > 1).length;
  return {
    scenario: `capture: wal, ${written.size.toLocaleString('en')} changes, ${writers} writers, listener SIGKILLed ${killed}x`,
    written: written.size,
    delivered,
    lost: written.size - delivered + writtenEven.length - deliveredEven,
    duplicated,
    recoverMs,
    notes:
      `${failedTransactions} writer transactions failed (no event expected for them); ${newIds} changes sent again under another id; ` +
      `the watch with "when": ${deliveredEven} of ${writtenEven.length} updates to an even value delivered, ${failingCondition} events that fail its condition`,
    violations: newIds + failingCondition,
  };
}
