import { readFileSync } from 'node:fs';
import type { BenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import { RunningVariant, VARIANTS } from '../capture-variants.ts';
import { connectWriters } from '../load/saturating-writers.ts';
import type { ReceivedMessage } from '../measure/consumer-queue.ts';
import { CountingProxy, type SnsRequestCounts } from '../measure/counting-proxy.ts';
import { summariseDelays, type DelaySummary } from '../measure/percentiles.ts';

/** The window of issue 12's example (`"coalesce": "2s"`). */
export const COALESCE_WINDOW = '2s';
export const HOT_ROWS = 10;
/** Writers updating the hot rows in turn: enough that the writers, not one round trip, set the pace. */
export const HOT_ROW_WRITERS = 4;
const ARRIVAL_TIMEOUT_MS = 120_000;

const HOT_ROWS_SCHEMA_SQL = readFileSync(new URL('../hot-rows-schema.sql', import.meta.url), 'utf8');

export interface CoalescingRun {
  topic: 'standard' | 'fifo';
  /** The watch's `coalesce` window, or null for a watch without one. */
  coalesce: string | null;
  rows: number;
  writers: number;
  updates: number;
  writeSeconds: number;
  /**
   * When the last update committed: outbox rows (waiting, or published and not yet deleted) and
   * messages already received. Which one lags hints where a delay comes from: the listener's side
   * or the emulator's and the consumer's.
   */
  outboxWhenWritesEnded: number;
  receivedWhenWritesEnded: number;
  /** Messages of the hot rows that reached the consumer queue. */
  messages: number;
  /** Counted at the HTTP level between the listener and the SNS endpoint. */
  sns: SnsRequestCounts;
  messagesPerTenThousandUpdates: number;
  requestsPerTenThousandUpdates: number;
  /** Each update's commit until the first message carrying it (its own, or the merged one) was received. */
  updateDelay: DelaySummary;
  /** The newest update a message carries, from its commit until the message was received. */
  messageDelay: DelaySummary;
  /** FIFO only: messages whose `row.version` is not above the previous one of that row (must be 0). */
  orderViolations: number | null;
  /** Rows whose final state (the version in the table after the writes) arrived. */
  rowsWithFinalState: number;
  /** Updates no message carried, and updates carried by more than one. */
  updatesMissing: number;
  updatesDuplicated: number;
}

/**
 * Issue 12: `updates` updates of 10 hot rows through the real listener, on a standard and a
 * FIFO topic, with and without `coalesce`. The listener's SNS calls go through a counting proxy.
 */
export async function measureCoalescing(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<CoalescingRun[]> {
  await env.admin.query(HOT_ROWS_SCHEMA_SQL);
  const proxy = new CountingProxy(new URL(env.endpoint));
  await proxy.start();
  const runs: CoalescingRun[] = [];
  try {
    for (const topic of ['standard', 'fifo'] as const) {
      for (const coalesce of [null, COALESCE_WINDOW]) {
        const run = await measureOne(env, proxy, topic, coalesce, settings.coalesceUpdates);
        runs.push(run);
        progress(
          `coalesce ${topic.padEnd(8)} ${(coalesce ?? 'off').padEnd(3)}: ${run.updates} updates in ${run.writeSeconds.toFixed(1)} s -> ${run.messages} messages, ` +
            `${run.sns.publishBatchRequests} PublishBatch; at the last commit ${run.outboxWhenWritesEnded} in the outbox, ${run.receivedWhenWritesEnded} received; per update p50 ${run.updateDelay.p50} ms, p99 ${run.updateDelay.p99} ms; ` +
            `final state ${run.rowsWithFinalState}/${run.rows}, missing ${run.updatesMissing}, duplicated ${run.updatesDuplicated}` +
            (run.orderViolations === null ? '' : `, order violations ${run.orderViolations}`),
        );
      }
    }
  } finally {
    await proxy.stop();
  }
  return runs;
}

async function measureOne(
  env: BenchEnvironment,
  proxy: CountingProxy,
  topic: 'standard' | 'fifo',
  coalesce: string | null,
  updates: number,
): Promise<CoalescingRun> {
  // The bench table's watch stays installed, so the phases after this one find it as they expect.
  const config = { watches: [{ table: 'bench.items' }, { table: 'bench.hot_rows', ...(coalesce ? { coalesce } : {}) }] };
  const running = await RunningVariant.start(VARIANTS[topic === 'fifo' ? 'pgbridge-fifo' : 'pgbridge'], env, {
    config,
    endpoint: proxy.url,
  });
  try {
    await running.reset();
    const startVersions = await versions(env);
    proxy.reset();
    const receiving = running.queue!.startCollecting();
    const started = Date.now();
    const commitAt = await writeUpdates(env, updates);
    const writeSeconds = (Date.now() - started) / 1000;
    const receivedWhenWritesEnded = receiving.messages.length;
    const outboxWhenWritesEnded = Number((await env.admin.query<{ count: string }>('SELECT count(*) FROM pgbridge.outbox')).rows[0]!.count);
    const finalVersions = await versions(env);

    const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
    const tally = newTally(startVersions);
    tallyMessages(tally, receiving.messages, commitAt);
    while (tally.covered.size < commitAt.size && Date.now() < deadline) {
      running.listener!.assertRunning();
      await new Promise((resolve) => setTimeout(resolve, 100));
      tallyMessages(tally, receiving.messages, commitAt);
    }
    await receiving.stop();
    tallyMessages(tally, receiving.messages, commitAt);
    const sns = { ...proxy.counts };
    const perTenThousand = (count: number) => (count * 10_000) / updates;
    return {
      topic,
      coalesce,
      rows: HOT_ROWS,
      writers: HOT_ROW_WRITERS,
      updates,
      writeSeconds,
      outboxWhenWritesEnded,
      receivedWhenWritesEnded,
      messages: tally.messages,
      sns,
      messagesPerTenThousandUpdates: perTenThousand(tally.messages),
      requestsPerTenThousandUpdates: perTenThousand(sns.publishBatchRequests + sns.publishRequests),
      updateDelay: summariseDelays(tally.updateDelays),
      messageDelay: summariseDelays(tally.messageDelays),
      orderViolations: topic === 'fifo' ? tally.orderViolations : null,
      rowsWithFinalState: [...finalVersions].filter(([id, version]) => tally.highest.get(id) === version).length,
      updatesMissing: commitAt.size - tally.covered.size,
      updatesDuplicated: tally.duplicated,
    };
  } finally {
    await running.stop();
  }
}

/** The hot rows' versions now, by id. */
async function versions(env: BenchEnvironment): Promise<Map<number, number>> {
  const { rows } = await env.admin.query<{ id: number; version: string }>('SELECT id, version FROM bench.hot_rows');
  return new Map(rows.map((row) => [row.id, Number(row.version)]));
}

/** The updates, the rows in turn, each committed on its own; returns when each `row:version` committed. */
async function writeUpdates(env: BenchEnvironment, updates: number): Promise<Map<string, number>> {
  const commitAt = new Map<string, number>();
  const clients = await connectWriters(env.databaseUrl, HOT_ROW_WRITERS);
  let next = 0;
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (next < updates) {
          const id = (next++ % HOT_ROWS) + 1;
          // Literal SQL over the simple protocol, as the other workloads (bench/load/workloads.ts).
          const { rows } = await client.query<{ version: string }>(
            `UPDATE bench.hot_rows SET version = version + 1, sent_at = ${Date.now()} WHERE id = ${id} RETURNING version`,
          );
          commitAt.set(`${id}:${Number(rows[0]!.version)}`, Date.now());
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
  return commitAt;
}

interface Tally {
  /** Messages of `received` looked at so far, of any table. */
  read: number;
  messages: number;
  /** `row:version` of every update some message carried. */
  covered: Set<string>;
  duplicated: number;
  updateDelays: number[];
  messageDelays: number[];
  orderViolations: number;
  /** Per row, the version of the last message received, and the highest received. */
  last: Map<number, number>;
  highest: Map<number, number>;
}

function newTally(startVersions: Map<number, number>): Tally {
  return {
    read: 0,
    messages: 0,
    covered: new Set(),
    duplicated: 0,
    updateDelays: [],
    messageDelays: [],
    orderViolations: 0,
    last: new Map(startVersions),
    highest: new Map(startVersions),
  };
}

/**
 * Adds what the messages received since the last call carry. A message with `row.version` v and `coalesced` c
 * stands for the updates v-c+1 … v of its row (c is 1 on an unmerged update).
 */
function tallyMessages(tally: Tally, received: ReceivedMessage[], commitAt: Map<string, number>): void {
  for (; tally.read < received.length; tally.read++) {
    const message = received[tally.read]!;
    const event = JSON.parse(message.body) as { table: string; row: { id: number; version: number }; coalesced?: number };
    if (event.table !== 'hot_rows') continue;
    tally.messages++;
    const { id, version } = event.row;
    if (version <= (tally.last.get(id) ?? 0)) tally.orderViolations++;
    tally.last.set(id, version);
    tally.highest.set(id, Math.max(version, tally.highest.get(id) ?? 0));
    const newestCommit = commitAt.get(`${id}:${version}`);
    if (newestCommit !== undefined) tally.messageDelays.push(message.receivedAt - newestCommit);
    for (let covered = version - (event.coalesced ?? 1) + 1; covered <= version; covered++) {
      const key = `${id}:${covered}`;
      const committed = commitAt.get(key);
      if (committed === undefined) continue;
      if (tally.covered.has(key)) {
        tally.duplicated++;
        continue;
      }
      tally.covered.add(key);
      tally.updateDelays.push(message.receivedAt - committed);
    }
  }
}
