import type pg from 'pg';
import { isTransient } from '../capture/installer.ts';
import { statement } from '../capture/sql-files.ts';
import { ConfigError } from '../errors.ts';
import { isValidAwsText } from '../message/aws-text.ts';

export interface BackfillOptions {
  /** `name` or `schema.name` (schema `public` by default), a watched table. */
  table: string;
  /** Which of the table's watches gives the events their columns and label; required when it has several. */
  label?: string;
  /** An SQL condition on the table's rows (the caller's own SQL, run with the caller's rights). */
  where?: string;
  /** The one consumer the events are for (the `target` attribute): every other consumer ignores them. */
  target?: string;
  /**
   * Rows per chunk, each chunk in its own short transaction. The default is half the listener's
   * default batch (500), so a live event written while a chunk waits is usually published in
   * the same drain round as the chunk. @default 250
   */
  chunk?: number;
  /** Give up an unfinished backfill of the same table, where clause and target, and start from the first key. */
  restart?: boolean;
  /** How often to look whether the listener has published the previous chunk. @default 25 */
  pollIntervalMs?: number;
}

export interface BackfillStart {
  id: string;
  watch: string;
  resumed: boolean;
  rowsDone: number;
  /** The planner's estimate of the rows read in all (for progress; may be off). */
  rowsEstimate: number;
}

/** What a running backfill tells its user (a progress bar, log lines, a test). */
export interface BackfillReporter {
  started(start: BackfillStart): void;
  /** After every committed chunk. */
  progressed(rowsDone: number): void;
  /** The listener has not yet published the previous chunk; the next one waits (no new events meanwhile). */
  waiting(pendingEvents: number): void;
  finished(rowsDone: number): void;
}

// A row a writer holds locked stops the chunk at that row; the rows already locked in the chunk
// would hold back other writers as long, so the chunk gives up and is tried again shortly.
const CHUNK_LOCK_TIMEOUT = '2s';
const LOCK_RETRIES = 30;
const LOCK_NOT_AVAILABLE = '55P03';
const MAX_POLL_INTERVAL_MS = 1000;
export const DEFAULT_CHUNK = 250;

/**
 * Emits a `read` event for every row of a watched table, through the outbox, in primary-key
 * order: each chunk is one statement (so one short transaction) that reads the rows, writes
 * their events and records how far the backfill got. A chunk is written only once the listener
 * has published the previous one, so at most one chunk of backfill events waits in the outbox
 * and live events written meanwhile are published after at most that many.
 */
export async function runBackfill(client: pg.ClientBase, options: BackfillOptions, reporter: BackfillReporter): Promise<void> {
  const chunk = options.chunk ?? DEFAULT_CHUNK;
  const where = options.where ?? null;
  const target = options.target ?? null;
  if (target !== null) assertValidTarget(target);
  const watch = await chooseWatch(client, options);
  const statements = await backfillStatements(client, watch, where);
  const rowsEstimate = await estimateRows(client, statements, where);

  if (options.restart) await client.query(statement('backfill/give-up'), [watch, where, target]);
  const unfinished = await client.query(statement('backfill/find-unfinished'), [watch, where, target]);
  const backfill = unfinished.rows[0] ?? (await client.query(statement('backfill/create'), [watch, where, target, rowsEstimate])).rows[0];
  const { rows: locked } = await client.query(statement('backfill/lock'), [backfill.id]);
  if (!locked[0].acquired) {
    throw new ConfigError(
      `backfill ${backfill.id} of ${watch} is already running in another session; wait for it, or see pgbridge backfill status`,
    );
  }
  await client.query(statement('backfill/set-estimate'), [backfill.id, rowsEstimate]);
  await client.query(`SET lock_timeout = '${CHUNK_LOCK_TIMEOUT}'`);

  let rowsDone = Number(backfill.rows_done);
  let lastKey: string | null = backfill.last_key;
  reporter.started({ id: backfill.id, watch, resumed: unfinished.rows.length > 0, rowsDone, rowsEstimate });
  let oldestPending = '0';
  for (;;) {
    oldestPending = await waitForPublished(client, backfill.id, oldestPending, options.pollIntervalMs ?? 25, reporter);
    const result = await readChunk(client, statements.chunk, [backfill.id, lastKey, chunk, target]);
    rowsDone += result.rows;
    lastKey = result.last_key;
    if (result.first_event_id !== null) oldestPending = result.first_event_id;
    reporter.progressed(rowsDone);
    if (result.state === 'done') break;
  }
  reporter.finished(rowsDone);
}

interface ChunkResult {
  rows: number;
  first_event_id: string | null;
  state: 'running' | 'done';
  last_key: string | null;
}

async function readChunk(client: pg.ClientBase, chunkSql: string, values: unknown[]): Promise<ChunkResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await singleStatement<ChunkResult>(client, chunkSql, values);
      return rows[0]!;
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE || attempt === LOCK_RETRIES) throw error;
      await sleep(200 * attempt);
    }
  }
}

/** Waits until none of the backfill's events are left in the outbox; returns the id to scan from next time. */
async function waitForPublished(
  client: pg.ClientBase,
  backfillId: string,
  scanFrom: string,
  pollIntervalMs: number,
  reporter: BackfillReporter,
): Promise<string> {
  let interval = pollIntervalMs;
  for (let polls = 0; ; polls++) {
    const { rows } = await client.query(statement('backfill/pending-events'), [scanFrom, backfillId]);
    if (rows[0].pending === 0) return scanFrom;
    scanFrom = rows[0].oldest;
    // Every poll is cheap, but a listener that is down should not be polled 40 times a second.
    if (polls > 0 && polls % 40 === 0) reporter.waiting(rows[0].pending);
    await sleep(interval);
    if (polls > 40) interval = Math.min(interval * 2, MAX_POLL_INTERVAL_MS);
  }
}

async function chooseWatch(client: pg.ClientBase, options: BackfillOptions): Promise<string> {
  const { schema, table } = splitTableName(options.table);
  const { rows: installed } = await client.query(statement('admin/schema-exists'));
  if (!installed[0].installed) throw new ConfigError('pgbridge is not installed in this database: run pgbridge install first');
  const { rows } = await client.query(statement('backfill/watches-of-table'), [schema, table]);
  const found = rows[0] as {
    table_exists: boolean;
    watches: Array<{ name: string; label: string | null }>;
    watched_tables: string;
    backfills_installed: boolean;
  };
  if (!found.backfills_installed)
    throw new ConfigError('this database has pgbridge from before backfills: run pgbridge install to upgrade it');
  const name = `${schema}.${table}`;
  if (!found.table_exists)
    throw new ConfigError(`--table ${name}: there is no such table (watched tables: ${found.watched_tables || 'none'})`);
  if (found.watches.length === 0) {
    throw new ConfigError(
      `--table ${name}: the table has no installed watch (watched tables: ${found.watched_tables || 'none'}); add one to pgbridge.config.json and run pgbridge install`,
    );
  }
  const labels = found.watches.map((watch) => watch.label ?? '(none)').join(', ');
  if (options.label !== undefined) {
    const chosen = found.watches.find((watch) => watch.label === options.label);
    if (!chosen) throw new ConfigError(`--label ${options.label}: ${name} has no watch with that label (labels: ${labels})`);
    return chosen.name;
  }
  if (found.watches.length > 1) {
    throw new ConfigError(
      `--table ${name} has ${found.watches.length} watches (labels: ${labels}): choose the one whose columns and label the events get with --label`,
    );
  }
  return found.watches[0]!.name;
}

/** `users` → public.users; `shop.orders` → shop.orders (as in pgbridge.config.json). */
function splitTableName(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return dot === -1 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

function assertValidTarget(target: string): void {
  if (target.length === 0 || target.length > 256 || !isValidAwsText(target)) {
    throw new ConfigError(
      `--target ${JSON.stringify(target)}: give the name of one consumer (1-256 characters SNS accepts), e.g. --target SignupEmail`,
    );
  }
}

interface Statements {
  estimate: string;
  chunk: string;
}

async function backfillStatements(client: pg.ClientBase, watch: string, where: string | null): Promise<Statements> {
  try {
    const { rows } = await client.query<Statements>(statement('backfill/statements'), [watch, where]);
    return rows[0]!;
  } catch (error) {
    if (isTransient(error)) throw error;
    throw new ConfigError(`backfill of ${watch}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Postgres plans the rows to read: a where clause that does not parse, names an unknown column
 * or is not allowed is refused here, with Postgres' own message, before anything is written.
 * The chunk statement is planned too, so a missing privilege (FOR SHARE needs UPDATE on the
 * table, writing events needs INSERT on the outbox) also stops the backfill before it starts.
 */
async function estimateRows(client: pg.ClientBase, statements: Statements, where: string | null): Promise<number> {
  try {
    const { rows } = await singleStatement(client, `EXPLAIN (FORMAT JSON) ${statements.estimate}`, []);
    await singleStatement(client, `EXPLAIN ${statements.chunk}`, ['0', null, 1, null]);
    return Number(rows[0]!['QUERY PLAN'][0].Plan['Plan Rows']);
  } catch (error) {
    if (isTransient(error)) throw error;
    const what = where === null ? 'backfill' : `--where ${JSON.stringify(where)}`;
    throw new ConfigError(`${what}: ${(error as Error).message} (nothing was sent)`, { cause: error });
  }
}

/**
 * Runs `text` through the extended protocol, which refuses a text holding more than one
 * statement: a where clause cannot smuggle in a second one. (`queryMode` is node-postgres' own
 * option; its type definitions do not list it yet.)
 */
function singleStatement<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  return client.query<R>({ text, values, queryMode: 'extended' } as pg.QueryConfig);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
