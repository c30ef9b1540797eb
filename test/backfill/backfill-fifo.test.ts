import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import { buildFilterPolicy } from '../../lib/consumers/filter-policy.ts';
import { runCli } from '../support/cli-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener, waitFor } from '../support/test-listener.ts';

let db: TestDatabase;
let aws: TestAws;
let listener: Listener;
let queueUrl: string;

const ROWS = 200;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  const topicArn = await aws.resources.createTopic(aws.name('backfill.fifo'));
  const { policy, scope } = buildFilterPolicy({ table: 'counters', action: ['read', 'update'] }, 'Mirror');
  queueUrl = (await aws.resources.subscribeQueue(topicArn, aws.name('mirror.fifo'), policy, scope)).url;
  await db.query(
    `CREATE TABLE counters (id int PRIMARY KEY, value int NOT NULL); INSERT INTO counters SELECT n, 0 FROM generate_series(1, ${ROWS}) AS n`,
  );
  listener = await startTestListener({
    databaseUrl: db.url,
    endpoint: aws.endpoint,
    topicArn,
    config: { watches: [{ table: 'counters', actions: ['update'] }] },
  });
});

afterAll(async () => {
  await listener?.stop();
  await Promise.all([db?.stop(), aws?.stop()]);
});

describe('a backfill next to live updates of the same rows', () => {
  it('on a FIFO topic a row updated while its chunk is being read ends with its new value: read and update arrive in commit order', async () => {
    // A where clause that takes 5 ms a row keeps the chunk's statement running for about a second,
    // long enough to commit an update of one of its rows in the middle of it.
    const backfill = runCli(['backfill', '--table', 'counters', '--chunk', '100', '--where', 'pg_sleep(0.005) IS NOT NULL'], {
      DATABASE_URL: db.url,
    });
    await waitFor(
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity WHERE query LIKE '%WITH bound AS%' AND state = 'active' AND pid <> pg_backend_pid()`,
          )
        ).rowCount! > 0,
      30_000,
      'the first chunk',
    );
    await db.query(`UPDATE counters SET value = 1 WHERE id = 80`);
    const run = await backfill;
    expect(run.code, run.stderr).toBe(0);

    const messages = await receiveMessages(aws, queueUrl, { count: ROWS + 1, timeoutMs: 60_000, settleMs: 1000 });
    const row80 = messages.filter((message) => message.event.key.id === 80);
    expect(row80.map((message) => message.groupId)).toEqual(['public.counters:80', 'public.counters:80']);
    expect(row80.map((message) => `${message.event.action}:${message.event.row.value}`).at(-1)).toMatch(/:1$/);
    expect(messages.filter((message) => message.event.action === 'read')).toHaveLength(ROWS);
  });
});
