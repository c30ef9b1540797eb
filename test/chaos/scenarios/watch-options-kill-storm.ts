import pg from 'pg';
import { install } from '../../../lib/capture/installer.ts';
import { parseConfig, type PgBridgeConfig } from '../../../lib/config/watch-config.ts';
import type { ListenerProcess } from '../../support/listener-process.ts';
import { spawnChaosListener, writtenIds, type ChaosEnvironment } from '../chaos-environment.ts';
import { MessageCollector, type CollectedEvent } from '../message-collector.ts';
import { tally, waitForDelivery, type ScenarioResult } from '../scenario-result.ts';
import { runWriteLoad } from '../write-load.ts';

export interface WatchOptionsKillStormOptions {
  events: number;
  writers: number;
  kills: number;
}

/** A coalescing watch and a filtered one on the chaos table (updates add 1 to `value`). */
const OPTIONS_CONFIG: PgBridgeConfig = {
  watches: [
    { table: 'chaos_rows', coalesce: '500ms' },
    { table: 'chaos_rows', label: 'high', actions: ['insert', 'update'], when: 'NEW.value >= 3' },
  ],
};

/**
 * The kill storm with `coalesce` and `when` watches. Updates merged away by a writer are
 * recorded (a delete from the outbox inside a capture trigger), and every other event must
 * arrive. What a merge may not do is checked on the messages: per row, in id order, every
 * update's `old` value is the value of the row's previous event and its `coalesced` count is
 * exactly the number of increments it covers; the last event has the row's final value; the
 * filtered watch sends only rows that satisfy its condition.
 */
export async function watchOptionsKillStorm(
  env: ChaosEnvironment,
  { events, writers, kills }: WatchOptionsKillStormOptions,
): Promise<ScenarioResult> {
  await installAndRecordMerges(env.url);
  const topicArn = await env.aws.createTopic('options-storm');
  const queue = await env.aws.subscribeQueue(topicArn, 'options-storm');
  const collector = new MessageCollector(env.aws.sqs, queue.url);
  collector.start();
  const spawn = () => spawnChaosListener(env, { topicArn }, { PGBRIDGE_CONFIG_JSON: JSON.stringify(OPTIONS_CONFIG) });
  let listener: ListenerProcess = spawn();
  let killed = 0;
  const load = runWriteLoad({ url: env.url, writers, events });
  let loadDone = false;
  void load.then(() => (loadDone = true));
  const hot = updateHotRows(env.url, () => loadDone);
  while (killed < kills) {
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * (loadDone ? 300 : 1200)));
    listener.child.kill('SIGKILL');
    await listener.exited;
    killed++;
    listener = spawn();
  }
  const { failedTransactions } = await load;
  await hot;

  const faultEnded = Date.now();
  const merged = await idsOf(env.url, 'SELECT id::text FROM chaos_merged');
  const written = new Set([...(await writtenIds(env.url))].filter((id) => !merged.has(id)));
  const waited = await waitForDelivery(written, collector, 120_000);
  const recoverMs = waited === null ? null : Date.now() - faultEnded;
  await collector.stop();
  listener.child.kill('SIGTERM');
  await listener.exited;

  const finalValues = await rowValues(env.url);
  const broken = brokenHistories(collector.events, finalValues);
  const mergedMessages = collector.events.filter((event) => event.coalesced).length;
  return tally(
    `watches with coalesce and when: ${written.size.toLocaleString('en')} events, ${writers} writers, listener SIGKILLed ${killed}x`,
    written,
    collector.counts,
    recoverMs,
    `${merged.size} updates merged into ${mergedMessages} messages; rows with a broken history: ${broken}; ${failedTransactions} writer transactions failed`,
    broken,
  );
}

/** The rows coalescing is for: the first few, updated back to back by one more writer. */
async function updateHotRows(url: string, done: () => boolean): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  while (!done()) await client.query(`UPDATE chaos_rows SET value = value + 1 WHERE id <= 5`);
  await client.end();
}

/** Installs the watches before the load starts (the listener would only once it is up). */
async function installAndRecordMerges(url: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  await install(client, parseConfig(OPTIONS_CONFIG));
  // The listener deletes published events at trigger depth 1; a capture trigger merging an
  // update deletes the one it replaces at depth 2.
  await client.query(`
    CREATE TABLE chaos_merged (id bigint PRIMARY KEY);
    CREATE FUNCTION record_merged() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF pg_trigger_depth() > 1 THEN INSERT INTO public.chaos_merged VALUES (OLD.id) ON CONFLICT DO NOTHING; END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER record_merged AFTER DELETE ON pgbridge.outbox FOR EACH ROW EXECUTE FUNCTION record_merged();
  `);
  await client.end();
}

async function idsOf(url: string, sql: string): Promise<Set<string>> {
  const client = new pg.Client(url);
  await client.connect();
  const { rows } = await client.query(sql);
  await client.end();
  return new Set(rows.map((row) => row.id));
}

async function rowValues(url: string): Promise<Map<number, number>> {
  const client = new pg.Client(url);
  await client.connect();
  const { rows } = await client.query(`SELECT id, value FROM chaos_rows`);
  await client.end();
  return new Map(rows.map((row) => [row.id, row.value]));
}

/** Rows whose events, as received, do not add up (see watchOptionsKillStorm). */
function brokenHistories(events: CollectedEvent[], finalValues: Map<number, number>): number {
  const unique = new Map(events.map((event) => [event.id, event]));
  const byRow = new Map<number, CollectedEvent[]>();
  let broken = 0;
  for (const event of unique.values()) {
    if (event.label === 'high') {
      if ((event.value ?? 0) < 3) broken++;
      continue;
    }
    byRow.set(event.key, [...(byRow.get(event.key) ?? []), event]);
  }
  for (const [key, history] of byRow) {
    history.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    let value: number | undefined;
    let ok = history[0]!.action === 'insert';
    for (const event of history) {
      if (event.action === 'update') ok &&= event.oldValue === value && event.value! - event.oldValue! === (event.coalesced ?? 1);
      if (event.action === 'delete') ok &&= event.value === value;
      value = event.value;
    }
    const last = history.at(-1)!;
    ok &&= last.action === 'delete' ? !finalValues.has(key) : finalValues.get(key) === value;
    if (!ok) broken++;
  }
  return broken;
}
