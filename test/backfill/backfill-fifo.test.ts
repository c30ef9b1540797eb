import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { buildFilterPolicy } from '../../lib/consumers/filter-policy.ts';
import { runCli } from '../support/cli-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener } from '../support/test-listener.ts';

let db: TestDatabase;
let aws: TestAws;
let listener: Listener;
let queueUrl: string;

const ROWS = 3000;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  const topicArn = await aws.resources.createTopic(aws.name('backfill.fifo'));
  const { policy, scope } = buildFilterPolicy({ table: 'counters', action: ['read', 'update'] }, 'Mirror');
  queueUrl = (await aws.resources.subscribeQueue(topicArn, aws.name('mirror.fifo'), policy, scope)).url;
  await db.query(`CREATE TABLE counters (id int PRIMARY KEY, value int NOT NULL); INSERT INTO counters SELECT n, 0 FROM generate_series(1, ${ROWS}) AS n`);
  listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, config: { watches: [{ table: 'counters', actions: ['update'] }] } });
});

afterAll(async () => {
  await listener?.stop();
  await Promise.all([db?.stop(), aws?.stop()]);
});

describe('a backfill next to live updates of the same rows', () => {
  it('on a FIFO topic every row ends with its current value: a read and an update of one row arrive in commit order', async () => {
    let backfillDone = false;
    const backfill = runCli(['backfill', '--table', 'counters', '--chunk', '100'], { DATABASE_URL: db.url }).finally(() => (backfillDone = true));
    let updates = 0;
    while (!backfillDone) {
      // Rows all over the key range, so some are updated before, some while and some after their chunk is read.
      const ids = Array.from({ length: 20 }, () => 1 + Math.floor(Math.random() * ROWS));
      await db.query(`UPDATE counters SET value = value + 1 WHERE id = ANY ($1::int[])`, [ids]);
      updates += new Set(ids).size;
    }
    const run = await backfill;
    expect(run.code, run.stderr).toBe(0);
    expect(updates).toBeGreaterThan(100);

    const { rows } = await db.query<{ id: number; value: number }>(`SELECT id, value FROM counters`);
    const messages = await receiveMessages(aws, queueUrl, { count: ROWS + updates, timeoutMs: 120_000, settleMs: 1000, distinct: (m) => m.event.id });
    const latest = new Map<number, { id: bigint; value: number }>();
    for (const message of messages) {
      const key = message.event.key.id as number;
      expect(message.groupId).toBe(`public.counters:${key}`);
      const previous = latest.get(key);
      // Within a row's message group, events arrive in the order they were written.
      if (previous) expect(BigInt(message.event.id)).toBeGreaterThanOrEqual(previous.id);
      latest.set(key, { id: BigInt(message.event.id), value: message.event.row.value });
    }
    const stale = rows.filter((row) => latest.get(row.id)?.value !== row.value);
    expect(stale).toEqual([]);
  });
});
