import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig, type PgBridgeConfig } from '../../lib/config/watch-config.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await startTestDatabase();
  client = new pg.Client(db.url);
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.stop();
});

beforeEach(async () => {
  await client.query(`
    DROP SCHEMA IF EXISTS pgbridge CASCADE;
    DROP TABLE IF EXISTS items, swapped, measured, base_rows, bookings CASCADE;
    CREATE TABLE items (id int PRIMARY KEY, n int NOT NULL, note text, secret text);
    CREATE TABLE swapped (id int PRIMARY KEY DEFERRABLE INITIALLY IMMEDIATE, n int NOT NULL);
    CREATE TABLE bookings (region text, id int, n int, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
    CREATE TABLE bookings_eu PARTITION OF bookings FOR VALUES IN ('eu');
    CREATE TABLE bookings_us PARTITION OF bookings FOR VALUES IN ('us');
    CREATE TABLE base_rows (id int PRIMARY KEY, n int);
    CREATE TABLE measured (unit text) INHERITS (base_rows);
  `);
});

// Statement-level capture is asked for per watch (`capture: "statement"`); per row is the default.
const installConfig = (config: PgBridgeConfig) =>
  install(client, parseConfig({ ...config, watches: config.watches.map((watch) => ({ capture: 'statement', ...watch })) }));

/** What each event says, in id order: action, key's id, row's n, old row's n, key change. */
async function events(): Promise<unknown[][]> {
  const { rows } = await client.query(`SELECT action, key, row_data, old_data, key_change FROM pgbridge.outbox ORDER BY id`);
  return rows.map((event) => [
    event.action,
    event.key?.id,
    event.row_data?.n,
    event.old_data?.n,
    event.key_change ? `${event.key_change.old.id}->${event.key_change.new.id}` : undefined,
  ]);
}

describe('statements changing many rows', () => {
  it('an INSERT … SELECT, an UPDATE and a DELETE of many rows send one event per row, updates with old values, unchanged rows none', async () => {
    await installConfig({ watches: [{ table: 'items', exclude: ['secret'] }] });
    await client.query(`INSERT INTO items (id, n, secret) SELECT g, g, 'hidden' FROM generate_series(1, 3) AS g`);
    await client.query(`UPDATE items SET n = CASE WHEN id = 2 THEN n ELSE n * 10 END, secret = 'changed'`);
    await client.query(`DELETE FROM items WHERE id >= 2`);
    expect(await events()).toEqual([
      ['insert', 1, 1, undefined, undefined],
      ['insert', 2, 2, undefined, undefined],
      ['insert', 3, 3, undefined, undefined],
      ['update', 1, 10, 1, undefined],
      ['update', 3, 30, 3, undefined],
      ['delete', 2, 2, undefined, undefined],
      ['delete', 3, 30, undefined, undefined],
    ]);
    const { rows } = await client.query(`SELECT row_data FROM pgbridge.outbox`);
    for (const { row_data } of rows) expect(row_data).not.toHaveProperty('secret');
  });

  it('a watch on some columns sends the rows of a statement whose watched columns changed, the payload only', async () => {
    await installConfig({ watches: [{ table: 'items', columns: ['n'], payload: ['id', 'n'] }] });
    await client.query(`INSERT INTO items (id, n) VALUES (1, 1), (2, 2)`);
    await client.query(`UPDATE items SET note = 'ignored'`);
    await client.query(`UPDATE items SET n = n + 1, note = 'seen' WHERE id = 2`);
    expect(await events()).toEqual([
      ['insert', 1, 1, undefined, undefined],
      ['insert', 2, 2, undefined, undefined],
      ['update', 2, 3, 2, undefined],
    ]);
    expect((await client.query(`SELECT row_data FROM pgbridge.outbox ORDER BY id DESC LIMIT 1`)).rows[0].row_data).toEqual({ id: 2, n: 3 });
  });

  it('a large UPDATE after single-row ones on the same connection is captured in about the time of the update itself', async () => {
    await installConfig({ watches: [{ table: 'items' }] });
    await client.query(`INSERT INTO items (id, n) SELECT g, g FROM generate_series(1, 20000) AS g`);
    for (let id = 1; id <= 10; id++) await client.query(`UPDATE items SET n = n + 1 WHERE id = $1`, [id]);
    // Paired by a plan made for one row (a nested loop), 20,000 rows take minutes.
    await client.query(`SET statement_timeout = '15s'`);
    try {
      await client.query(`UPDATE items SET n = n + 1`);
    } finally {
      await client.query(`RESET statement_timeout`);
    }
    expect((await client.query(`SELECT count(*)::int AS n FROM pgbridge.outbox WHERE action = 'update'`)).rows[0].n).toBe(20010);
  });

  it('an upsert sends an insert for a new row and an update for an existing one', async () => {
    await installConfig({ watches: [{ table: 'items' }] });
    await client.query(`INSERT INTO items (id, n) VALUES (1, 1)`);
    await client.query(`INSERT INTO items (id, n) VALUES (1, 10), (2, 20) ON CONFLICT (id) DO UPDATE SET n = excluded.n`);
    expect((await events()).slice(1).sort()).toEqual([
      ['insert', 2, 20, undefined, undefined],
      ['update', 1, 10, 1, undefined],
    ]);
  });

  it('a statement rolled back to a savepoint sends nothing, the rest of its transaction does', async () => {
    await installConfig({ watches: [{ table: 'items' }] });
    await client.query(`BEGIN; INSERT INTO items (id, n) VALUES (1, 1); SAVEPOINT before_many;
      INSERT INTO items (id, n) SELECT g, g FROM generate_series(2, 5) AS g; UPDATE items SET n = 0;
      ROLLBACK TO before_many; UPDATE items SET n = 2; COMMIT`);
    expect(await events()).toEqual([
      ['insert', 1, 1, undefined, undefined],
      ['update', 1, 2, 1, undefined],
    ]);
  });
});

describe('primary-key changes within statements', () => {
  it("a row's events keep their order across the statements of one transaction, key changes included", async () => {
    await installConfig({ watches: [{ table: 'items' }] });
    await client.query(`BEGIN; INSERT INTO items (id, n) VALUES (1, 1); UPDATE items SET n = 2; UPDATE items SET id = 5, n = 3;
      UPDATE items SET n = 4 WHERE id = 5; DELETE FROM items; COMMIT`);
    expect(await events()).toEqual([
      ['insert', 1, 1, undefined, undefined],
      ['update', 1, 2, 1, undefined],
      ['delete', 1, 2, undefined, '1->5'],
      ['insert', 5, 3, undefined, '1->5'],
      ['update', 5, 4, 3, undefined],
      ['delete', 5, 4, undefined, undefined],
    ]);
  });

  it('a key that one row leaves and another takes in the same statement is two key changes, never an update pairing the two rows', async () => {
    await installConfig({ watches: [{ table: 'items' }] });
    await client.query(`INSERT INTO items (id, n) VALUES (1, 1), (2, 2), (3, 3)`);
    await client.query(`DELETE FROM pgbridge.outbox`);
    // Row 1 moves first (the scan's order), so key 1 is free when row 2 takes it.
    await client.query(`UPDATE items SET id = CASE id WHEN 1 THEN 100 WHEN 2 THEN 1 ELSE id END, n = n + 10`);
    const sent = await events();
    expect(sent.filter((event) => event[0] === 'update')).toEqual([['update', 3, 13, 3, undefined]]);
    expect(sent.filter((event) => event[0] !== 'update').sort()).toEqual([
      ['delete', 1, 1, undefined, '1->100'],
      ['delete', 2, 2, undefined, '2->1'],
      ['insert', 1, 12, undefined, '2->1'],
      ['insert', 100, 11, undefined, '1->100'],
    ]);
    // The next statement of the same transaction pairs key 1 again.
    await client.query(`BEGIN; UPDATE items SET id = 7 WHERE id = 3; UPDATE items SET n = 0 WHERE id = 1; COMMIT`);
    expect((await events()).slice(-1)).toEqual([['update', 1, 0, 12, undefined]]);
  });

  it('as before, a key change is sent when a column the watch sends changed with it', async () => {
    await installConfig({ watches: [{ table: 'items', payload: ['n'] }] });
    await client.query(`INSERT INTO items (id, n) VALUES (1, 1), (2, 2)`);
    await client.query(`DELETE FROM pgbridge.outbox`);
    await client.query(`UPDATE items SET id = id + 10`);
    expect(await events()).toEqual([]);
    await client.query(`UPDATE items SET id = id + 10, n = n + 1 WHERE id = 11`);
    expect((await client.query(`SELECT action, key, row_data, key_change FROM pgbridge.outbox ORDER BY id`)).rows).toEqual([
      { action: 'delete', key: { id: 11 }, row_data: { n: 1 }, key_change: { old: { id: 11 }, new: { id: 21 } } },
      { action: 'insert', key: { id: 21 }, row_data: { n: 2 }, key_change: { old: { id: 11 }, new: { id: 21 } } },
    ]);
  });

  it('keys swapped within one statement (a deferrable key) are two key changes', async () => {
    await installConfig({ watches: [{ table: 'swapped' }] });
    await client.query(`INSERT INTO swapped VALUES (1, 1), (2, 2)`);
    await client.query(`DELETE FROM pgbridge.outbox`);
    await client.query(`UPDATE swapped SET id = 3 - id`);
    expect((await events()).sort()).toEqual([
      ['delete', 1, 1, undefined, '1->2'],
      ['delete', 2, 2, undefined, '2->1'],
      ['insert', 1, 2, undefined, '2->1'],
      ['insert', 2, 1, undefined, '1->2'],
    ]);
  });
});

describe('capture: row, the default', () => {
  it.each([
    ['a watch without capture', {}],
    ['a watch asking for row-level capture', { capture: 'row' as const }],
  ])('%s sends the same events from per-row triggers', async (_, option) => {
    await install(client, parseConfig({ watches: [{ table: 'items', ...option }] }));
    const { rows } = await client.query(`SELECT DISTINCT tgtype & 1 = 1 AS per_row FROM pg_trigger WHERE tgrelid = 'items'::regclass`);
    expect(rows).toEqual([{ per_row: true }]);
    await client.query(`INSERT INTO items (id, n) SELECT g, g FROM generate_series(1, 2) AS g`);
    await client.query(`UPDATE items SET n = n * 10 WHERE id = 2`);
    await client.query(`UPDATE items SET id = 5 WHERE id = 1`);
    expect(await events()).toEqual([
      ['insert', 1, 1, undefined, undefined],
      ['insert', 2, 2, undefined, undefined],
      ['update', 2, 20, 2, undefined],
      ['delete', 1, 1, undefined, '1->5'],
      ['insert', 5, 1, undefined, '1->5'],
    ]);
  });
});

describe('partitions and inheritance', () => {
  it('a watch on a partitioned table captures the rows of every partition, one event per row', async () => {
    await installConfig({ watches: [{ table: 'bookings' }] });
    await client.query(`INSERT INTO bookings VALUES ('eu', 1, 1), ('us', 2, 2)`);
    await client.query(`UPDATE bookings SET n = n + 1`);
    await client.query(`DELETE FROM bookings_us`);
    expect(await events()).toEqual([
      ['insert', 1, 1, undefined, undefined],
      ['insert', 2, 2, undefined, undefined],
      ['update', 1, 2, 1, undefined],
      ['update', 2, 3, 2, undefined],
      ['delete', 2, 3, undefined, undefined],
    ]);
  });

  it("a watch on a parent table of an inheritance captures the parent's own rows, not its children's", async () => {
    await installConfig({ watches: [{ table: 'base_rows' }] });
    await client.query(`INSERT INTO base_rows VALUES (1, 1); INSERT INTO measured VALUES (2, 2, 'kg')`);
    await client.query(`UPDATE base_rows SET n = n + 1`);
    expect(await events()).toEqual([
      ['insert', 1, 1, undefined, undefined],
      ['update', 1, 2, 1, undefined],
    ]);
  });
});
