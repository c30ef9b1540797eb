/** The write patterns of the issues; each transaction is one simple-protocol round trip. */
export type WorkloadName = 'insert' | 'update' | 'tx10' | 'insert-select' | 'update-many';

export interface Workload {
  name: WorkloadName;
  title: string;
  /** Row changes (events) per transaction. */
  eventsPerTransaction: number;
  /** SQL text of one transaction. */
  transaction(): string;
}

/** Rows loaded before the run, so updates touch existing rows spread over the table. */
export const PRELOADED_ROWS = 100_000;
/** Rows one multi-row statement inserts or updates (issue 11). */
export const ROWS_PER_STATEMENT = 1_000;
const NOTE = "'a short note, like most application rows carry'";
let updates = 0;
let statements = 0;

// Literal SQL over the simple query protocol: a parse/bind/execute round per statement would
// make the Node load generator, which shares the two cores, the bottleneck (pgbench -M simple).
function insertRow(): string {
  return `INSERT INTO bench.items (sent_at, note) VALUES (${Date.now()}, ${NOTE})`;
}

// The note changes too, to a text of the same length unique to this update: two writers
// hitting one row within a millisecond would otherwise write an unchanged row, which
// (rightly) sends nothing, and the runs count events.
function changedNote(): string {
  return `'${String(++updates).padStart(8, '0')} note like most application rows carry'`;
}

export const WORKLOADS: Record<WorkloadName, Workload> = {
  insert: { name: 'insert', title: 'single-row insert', eventsPerTransaction: 1, transaction: insertRow },
  update: {
    name: 'update',
    title: 'single-row update',
    eventsPerTransaction: 1,
    transaction: () =>
      `UPDATE bench.items SET sent_at = ${Date.now()}, note = ${changedNote()} WHERE id = ${1 + Math.floor(Math.random() * PRELOADED_ROWS)}`,
  },
  tx10: {
    name: 'tx10',
    title: '10-row transaction',
    eventsPerTransaction: 10,
    transaction: () => `BEGIN; ${Array.from({ length: 10 }, insertRow).join('; ')}; COMMIT`,
  },
  'insert-select': {
    name: 'insert-select',
    title: `INSERT … SELECT of ${ROWS_PER_STATEMENT.toLocaleString('en-US')} rows`,
    eventsPerTransaction: ROWS_PER_STATEMENT,
    transaction: () =>
      `INSERT INTO bench.items (sent_at, note) SELECT ${Date.now()}, ${NOTE} FROM generate_series(1, ${ROWS_PER_STATEMENT})`,
  },
  'update-many': {
    name: 'update-many',
    title: `UPDATE of ${ROWS_PER_STATEMENT.toLocaleString('en-US')} rows`,
    eventsPerTransaction: ROWS_PER_STATEMENT,
    // Every 100th preloaded row from a starting offset that moves on with each statement: the
    // rows are spread over the whole table, and statements running at the same time take
    // different offsets, so they touch disjoint rows (no lock waits, no deadlocks between
    // writers locking one set in different orders).
    transaction: () => {
      const stride = PRELOADED_ROWS / ROWS_PER_STATEMENT;
      const offset = 1 + (statements++ % stride);
      return (
        `UPDATE bench.items SET sent_at = ${Date.now()}, note = ${changedNote()} ` +
        `WHERE id IN (SELECT generate_series(${offset}, ${PRELOADED_ROWS}, ${stride}))`
      );
    },
  },
};
