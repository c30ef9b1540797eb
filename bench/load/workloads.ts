/** The write patterns of the issue; each transaction is one simple-protocol round trip. */
export type WorkloadName = 'insert' | 'update' | 'tx10';

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
const NOTE = "'a short note, like most application rows carry'";
let updates = 0;

// Literal SQL over the simple query protocol: a parse/bind/execute round per statement would
// make the Node load generator, which shares the two cores, the bottleneck (pgbench -M simple).
function insertRow(): string {
  return `INSERT INTO bench.items (sent_at, note) VALUES (${Date.now()}, ${NOTE})`;
}

export const WORKLOADS: Record<WorkloadName, Workload> = {
  insert: { name: 'insert', title: 'single-row insert', eventsPerTransaction: 1, transaction: insertRow },
  update: {
    name: 'update',
    title: 'single-row update',
    eventsPerTransaction: 1,
    // The note changes too, to a text of the same length unique to this update: two writers
    // hitting one row within a millisecond would otherwise write an unchanged row, which
    // (rightly) sends nothing, and the end-to-end runs count events.
    transaction: () =>
      `UPDATE bench.items SET sent_at = ${Date.now()}, note = '${String(++updates).padStart(8, '0')} note like most application rows carry' ` +
      `WHERE id = ${1 + Math.floor(Math.random() * PRELOADED_ROWS)}`,
  },
  tx10: {
    name: 'tx10',
    title: '10-row transaction',
    eventsPerTransaction: 10,
    transaction: () => `BEGIN; ${Array.from({ length: 10 }, insertRow).join('; ')}; COMMIT`,
  },
};
