import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../functions/listener/listener.ts';
import type { PgBridgeConfig } from '../../lib/config/watch-config.ts';
import { runCli } from '../support/cli-process.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTestListener } from '../support/test-listener.ts';
import { typeCheck } from '../support/typescript-check.ts';

const CONSUMER_API = fileURLToPath(new URL('../../lib/consumers/index.ts', import.meta.url));

const CONFIG: PgBridgeConfig = {
  watches: [
    { table: 'samples' },
    { table: 'accounts', exclude: ['card_token'] },
    { table: 'accounts', actions: ['update'], columns: ['plan'], payload: ['id', 'email', 'plan'], label: 'plan_changed' },
    { table: 'log_lines', actions: ['insert'] },
    { schema: 'My Schema', table: 'Odd "Name"' },
    { table: 'documents', actions: ['insert'] },
  ],
};

const MOOD = `"sad" | "ok" | "happy"`;
const ADDRESS = `{ street: string | null; number: number | null; tags: (string | null)[] | null }`;

/** The type each column of `samples` must have in the generated `SamplesRow`: the spec under test. */
const SAMPLE_COLUMN_TYPES: Record<string, string> = {
  id: 'number',
  small: 'number',
  regular: 'number | null',
  big: 'number | null',
  exact: 'PgNumber | null',
  floating: 'PgNumber | null',
  single: 'PgNumber | null',
  flag: 'boolean | null',
  title: 'string',
  code: 'string | null',
  fixed: 'string | null',
  uid: 'string | null',
  day: 'string | null',
  at_local: 'string | null',
  at_zone: 'string | null',
  clock: 'string | null',
  span: 'string | null',
  raw: 'string | null',
  doc: 'Json | null',
  docb: 'Json | null',
  tags: '(string | null)[] | null',
  matrix: '(number | null)[][] | null',
  mood: `${MOOD} | null`,
  moods: `(${MOOD} | null)[] | null`,
  score: 'number',
  contact: 'string | null',
  home: `${ADDRESS} | null`,
  addresses: `(${ADDRESS} | null)[] | null`,
  ip: 'string | null',
  period: 'string | null',
  attributes: 'Json | null',
  doubled: 'number | null',
};

let db: TestDatabase;
let aws: TestAws;
let topicArn: string;
let listener: Listener | undefined;
let virtualColumns = false;

beforeAll(async () => {
  [db, aws] = await Promise.all([startTestDatabase(), startTestAws()]);
  topicArn = await aws.resources.createTopic(aws.name('types'));
  await db.query(`
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE DOMAIN positive_int AS integer NOT NULL CHECK (VALUE > 0);
    CREATE DOMAIN email AS text;
    CREATE TYPE address AS (street text, number int, tags text[]);
    CREATE EXTENSION hstore;
    CREATE TABLE samples (
      id bigint PRIMARY KEY, small smallint NOT NULL, regular integer, big bigint, exact numeric(40,10),
      floating double precision, single real, flag boolean, title text NOT NULL, code varchar(8), fixed char(3),
      uid uuid, day date, at_local timestamp, at_zone timestamptz, clock time, span interval, raw bytea,
      doc json, docb jsonb, tags text[], matrix integer[][], mood mood, moods mood[], score positive_int,
      contact email, home address, addresses address[], ip inet, period int4range, attributes hstore,
      doubled bigint GENERATED ALWAYS AS (id * 2) STORED
    );
    COMMENT ON COLUMN samples.big IS 'a comment */ that tries to end the doc comment';
    CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, plan text NOT NULL, card_token text);
    CREATE TABLE log_lines (line text);
    CREATE TABLE documents (id int PRIMARY KEY, body text NOT NULL);
    CREATE SCHEMA "My Schema";
    CREATE TABLE "My Schema"."Odd ""Name""" ("ID" int PRIMARY KEY, "Weird Col" text);
    CREATE VIEW account_emails AS SELECT id, email FROM accounts;
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id int PRIMARY KEY);
    CREATE TABLE shop_orders (id int PRIMARY KEY);
    CREATE TABLE json (id int PRIMARY KEY);
  `);
  const { rows } = await db.query(`SELECT current_setting('server_version_num')::int >= 180000 AS virtual`);
  virtualColumns = rows[0].virtual;
  if (virtualColumns) await db.query(`ALTER TABLE samples ADD COLUMN tripled bigint GENERATED ALWAYS AS (id * 3) VIRTUAL`);
});

afterAll(async () => {
  await listener?.stop();
  await Promise.all([db?.stop(), aws?.stop()]);
});

function workDir(): string {
  return mkdtempSync(join(tmpdir(), 'pgbridge-types-'));
}

function configFile(dir: string, config: unknown = CONFIG): string {
  const file = join(dir, 'pgbridge.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const pgbridge = (...args: string[]) => runCli(args, { DATABASE_URL: db.url });

async function generate(dir: string): Promise<string> {
  const result = await pgbridge('types', '--config', configFile(dir));
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

/** Compile-time assertions: each column's type is exactly the expected one, neither wider nor narrower. */
function columnTypeChecks(): string {
  const expected = { ...SAMPLE_COLUMN_TYPES, ...(virtualColumns ? { tripled: 'null' } : {}) };
  const lines = Object.entries(expected).map(([column, type]) => `  Expect<Equal<SamplesRow[${JSON.stringify(column)}], ${type}>>,`);
  return `import type { Json, PgNumber, SamplesRow } from './events.ts';
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
export type ColumnTypes = [
${lines.join('\n')}
];
// Every column is listed above, and nothing else is in the row type.
export type AllColumns = Expect<Equal<keyof SamplesRow, ${Object.keys(expected)
    .map((name) => JSON.stringify(name))
    .join(' | ')}>>;
`;
}

const HANDLER = `import { handleChanges } from ${JSON.stringify(CONSUMER_API)};
import type { AccountsKey, PgBridgeEvent, SamplesRow } from './events.ts';

export const handler = handleChanges<PgBridgeEvent>(async (event) => {
  if (event.truncated) {
    // A truncated event carries its key but no row.
    const row: undefined = event.row;
    return;
  }
  switch (event.table) {
    case 'samples': {
      const score: number = event.row.score;
      const big: number | null = event.row.big;
      if (event.action === 'update') {
        const before: SamplesRow = event.old;
        const changed: (keyof SamplesRow)[] = event.changed;
      } else {
        const old: null = event.old;
      }
      // @ts-expect-error a bigint arrives as a JSON number, never a string
      const text: string | null = event.row.big;
      // @ts-expect-error numeric may be 'NaN': not just a number
      const total: number | null = event.row.exact;
      // @ts-expect-error the row has no such column
      event.row.missing;
      break;
    }
    case 'accounts': {
      const key: AccountsKey = event.key;
      if (event.label === 'plan_changed') {
        const plan: string = event.row.plan;
        // @ts-expect-error the plan_changed watch sends only id, email and plan
        event.row.card_token;
        // A primary-key update reaches an update watch as a delete and an insert marked key_change.
        if (event.action !== 'update') {
          const newKey: AccountsKey = event.key_change.new;
        }
        // @ts-expect-error the plan_changed watch sends no truncate
        if (event.action === 'truncate') return;
      } else {
        const label: null = event.label;
        if (event.action === 'update') {
          const merged: number | undefined = event.coalesced;
        }
        // @ts-expect-error this watch excludes card_token
        event.row.card_token;
        const email: string = event.row.email;
      }
      break;
    }
    case 'log_lines': {
      const key: null = event.key;
      // An insert-only watch of a table without a primary key gets nothing else.
      const action: 'insert' = event.action;
      const line: string | null = event.row.line;
      break;
    }
    case 'Odd "Name"': {
      const schema: 'My Schema' = event.schema;
      const weird: string | null = event.row['Weird Col'];
      const id: number = event.key.ID;
      break;
    }
    case 'documents': {
      const body: string = event.row.body;
      break;
    }
    default: {
      // Every watched table is handled above.
      const none: never = event;
    }
  }
});

// Checking for the row itself leaves out truncated events as well.
export const byRow = handleChanges<PgBridgeEvent>(async (event) => {
  if (!event.row) return;
  if (event.table === 'documents') {
    const body: string = event.row.body;
  }
});

// A row type, as before \`pgbridge types\`, still gives a ChangeEvent of that row.
export const legacy = handleChanges<{ id: number; email: string }>(async (event) => {
  const email: string | undefined = event.row?.email;
  const table: string = event.table;
});
`;

// Each compile type-checks the consumer API with its AWS dependencies: seconds on a quiet machine, more under load.
describe('pgbridge types', { timeout: 180_000 }, () => {
  it('writes types that compile with a handler narrowing event.row by table, label and action, each column typed as its JSON', async () => {
    const dir = workDir();
    const source = await generate(dir);
    const diagnostics = typeCheck(dir, { 'events.ts': source, 'column-types.ts': columnTypeChecks(), 'handler.ts': HANDLER });
    expect(diagnostics).toEqual([]);
    expect(source).toContain('a comment *\\/ that tries to end the doc comment');
  });

  it('real events from the listener are values of the generated types, with every field and no other', async () => {
    const dir = workDir();
    const source = await generate(dir);
    const bodies = await receivedBodies();
    expect(bodies.find((body) => body.includes('"big":9007199254740993'))).toBeDefined();
    expect(typeCheck(dir, { 'events.ts': source, 'received.ts': receivedCheck(bodies) })).toEqual([]);
  });

  it('a column typed wrongly, too narrowly or left out fails the checks', async () => {
    const dir = workDir();
    const source = await generate(dir);
    const bodies = await receivedBodies();
    const tamper = (pattern: RegExp, replacement: string) => {
      const changed = source.replace(pattern, replacement);
      expect(changed).not.toBe(source);
      return typeCheck(dir, { 'events.ts': changed, 'column-types.ts': columnTypeChecks(), 'received.ts': receivedCheck(bodies) });
    };

    const bigintAsString = tamper(/^( {2}big: )number \| null;$/m, '$1string | null;');
    expect(bigintAsString.some((line) => line.startsWith('column-types.ts'))).toBe(true);
    expect(
      bigintAsString.some((line) => line.startsWith('received.ts') && line.includes("'number' is not assignable to type 'string'")),
    ).toBe(true);

    const numericWithoutNaN = tamper(/^( {2}exact: )PgNumber \| null;$/m, '$1number | null;');
    expect(
      numericWithoutNaN.some((line) => line.startsWith('received.ts') && line.includes("'string' is not assignable to type 'number'")),
    ).toBe(true);

    const columnLeftOut = tamper(/^ {2}fixed: string \| null;\n/m, '');
    expect(columnLeftOut.some((line) => line.startsWith('received.ts') && line.includes('\'"fixed"\' does not exist'))).toBe(true);
  });

  it('--out writes the file; a watch the database has not installed as configured is named on stderr', async () => {
    const dir = workDir();
    const out = join(dir, 'pgbridge-events.ts');
    expect((await pgbridge('install', '--config', configFile(dir))).code).toBe(0);
    const changed = { watches: [...CONFIG.watches, { table: 'accounts', label: 'signup', actions: ['insert'] }] };
    const result = await pgbridge('types', '--config', configFile(dir, changed), '--out', out);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`wrote the types of ${changed.watches.length} watch(es) to ${out}\n`);
    expect(result.stderr).toBe(
      'pgbridge types: not installed as configured in this database: public.accounts#signup; the types follow the config, run `pgbridge install` so that the triggers send what they describe\n',
    );
    expect(readFileSync(out, 'utf8')).toContain(
      'export type AccountsSignupEvent = PgBridgeChange<"public", "accounts", "signup", "insert", AccountsRow, AccountsKey>;',
    );
  });

  it('tables whose names would make the same type name get a number, and the file compiles', async () => {
    const dir = workDir();
    const config = {
      watches: [
        { table: 'shop.orders' },
        { table: 'shop_orders' },
        { table: 'json' },
        { table: 'shop_orders', label: 'x', actions: ['delete'] },
      ],
    };
    const { code, stdout } = await pgbridge('types', '--config', configFile(dir, config));
    expect(code).toBe(0);
    expect(stdout).toContain('export type ShopOrdersEvent = PgBridgeChange<"shop", "orders"');
    expect(stdout).toContain('export type ShopOrders2Event = PgBridgeChange<"public", "shop_orders"');
    expect(stdout).toContain('export interface JsonRow {');
    const use = `import type { JsonRow, PgBridgeEvent, ShopOrders2XEvent } from './events.ts';
export const key = (event: PgBridgeEvent): number => event.key.id;
export const row: JsonRow = { id: 1 };
export const deleted = (event: ShopOrders2XEvent): 'delete' => event.action;
`;
    expect(typeCheck(dir, { 'events.ts': stdout, 'use.ts': use })).toEqual([]);
  });

  it('an unknown table, a view or a missing column is a configuration error (exit 2) naming it, and nothing is written', async () => {
    const dir = workDir();
    const out = join(dir, 'never.ts');
    const run = (watch: object) => pgbridge('types', '--config', configFile(dir, { watches: [watch] }), '--out', out);

    expect(await run({ table: 'nope' })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgbridge: watch "public.nope": table public.nope does not exist\n',
    });
    expect((await run({ table: 'account_emails' })).stderr).toBe(
      'pgbridge: watch "public.account_emails": public.account_emails is not a table (only tables and partitioned tables can be watched)\n',
    );
    const missing = await run({ table: 'accounts', payload: ['id', 'emial'] });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'pgbridge: watch "public.accounts": payload column "emial" does not exist in public.accounts (columns: id, email, plan, card_token)\n',
    );
    expect((await run({ schema: 'My Schema', table: 'gone' })).stderr).toBe(
      'pgbridge: watch "My Schema.gone": table "My Schema".gone does not exist\n',
    );
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });

  it('the typed-handler example of the README compiles against the demo tables, with the command it gives', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const cookbook = readme.slice(readme.indexOf('**Example: a typed handler for the demo tables.**'));
    const command = /```sh\n(.*)\n```/.exec(cookbook)![1]!;
    const handler = /```ts\n([\s\S]*?)```/.exec(cookbook)![1]!;
    expect(command).toMatch(/ npm run pgbridge -- types --out pgbridge-events\.ts$/);
    await db.query(readFileSync(new URL('../../sql/demo/tables.sql', import.meta.url), 'utf8'));

    const dir = workDir();
    const result = await pgbridge('types', '--out', join(dir, 'pgbridge-events.ts'));
    expect(result.code, result.stderr).toBe(0);
    const source = readFileSync(join(dir, 'pgbridge-events.ts'), 'utf8');
    expect(
      typeCheck(dir, { 'pgbridge-events.ts': source, 'handler.ts': handler.replace("'pgbridge/consumer'", JSON.stringify(CONSUMER_API)) }),
    ).toEqual([]);
  });

  it('an --out path that cannot be written is a failure (exit 1) naming the path', async () => {
    const dir = workDir();
    const out = join(dir, 'no-such-dir', 'events.ts');
    const result = await pgbridge('types', '--config', configFile(dir), '--out', out);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`pgbridge: cannot write ${out}: ENOENT`);
  });
});

let received: Promise<string[]> | undefined;

/** The message bodies of real changes to every watched table, through the listener and the emulator (once per file). */
function receivedBodies(): Promise<string[]> {
  received ??= (async () => {
    listener = await startTestListener({ databaseUrl: db.url, endpoint: aws.endpoint, topicArn, config: CONFIG });
    const queue = (await aws.resources.subscribeQueue(topicArn, aws.name('types'))).url;
    await db.query(`
      INSERT INTO samples (id, small, regular, big, exact, floating, single, flag, title, code, fixed, uid, day, at_local, at_zone,
        clock, span, raw, doc, docb, tags, matrix, mood, moods, score, contact, home, addresses, ip, period, attributes)
      VALUES (1, 7, 42, 9007199254740993, 'NaN', 'Infinity', '-Infinity', true, 'first', 'ab', 'x', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '2026-01-02', '2026-01-02 03:04:05.123456', '2026-01-02 03:04:05.123456+02', '03:04:05', '1 day 2 hours', '\\xdeadbeef',
        '{"nested": [1, "two", null]}', '{"b": true}', '{a,NULL,c}', '{{1,2},{3,NULL}}', 'happy', '{ok,NULL}', 5, 'ada@example.com',
        ROW('Main St', 1, '{x}'), ARRAY[ROW('Side St', NULL, NULL)::address, NULL], '10.0.0.1', '[1,10)', 'size=>XL, gift=>NULL'),
        (2, 1, NULL, NULL, 123456789012345678901234567890.0123456789, 1.5, NULL, NULL, 'second', NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL);
      UPDATE samples SET regular = 43 WHERE id = 1;
      DELETE FROM samples WHERE id = 2;
      INSERT INTO accounts VALUES (1, 'ada@example.com', 'free', 'tok_1');
      UPDATE accounts SET plan = 'pro' WHERE id = 1;
      INSERT INTO log_lines VALUES ('hello'), (NULL);
      INSERT INTO "My Schema"."Odd ""Name""" VALUES (1, 'odd');
      INSERT INTO documents VALUES (1, repeat('x', 300000));
    `);
    // samples: 2 inserts, an update, a delete; accounts: an insert, and an update seen by both its
    // watches; 2 log lines; 1 odd row; 1 document too large for SNS, sent truncated.
    const messages = await receiveMessages(aws, queue, { count: 11, settleMs: 300 });
    expect(messages).toHaveLength(11);
    expect(messages.filter((message) => message.event.truncated)).toHaveLength(1);
    return messages.map((message) => message.body);
  })();
  return received;
}

/** The bodies as they arrived, each as a value of the generated union: tsc checks every field. */
function receivedCheck(bodies: string[]): string {
  return `import type { PgBridgeEvent } from './events.ts';\n${bodies.map((body, index) => `export const event${index}: PgBridgeEvent = ${body};`).join('\n')}\n`;
}
