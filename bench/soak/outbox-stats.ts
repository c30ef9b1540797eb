import { readFileSync } from 'node:fs';
import type pg from 'pg';

export interface OutboxStats {
  rows: number;
  heapBytes: number;
  indexBytes: number;
  deadTuples: number;
  autovacuumCount: number;
  /** Id of the newest event waiting, as text (ids are bigint); null when the outbox is empty. */
  newestId: string | null;
  /** The listener's waiting flag: while it is set every writer transaction sends a NOTIFY. */
  waitingFlag: boolean;
}

const OUTBOX_STATS_SQL = readFileSync(new URL('./outbox-stats.sql', import.meta.url), 'utf8');

export async function readOutboxStats(admin: pg.Pool): Promise<OutboxStats> {
  const { rows } = await admin.query(OUTBOX_STATS_SQL);
  const row = rows[0];
  return {
    rows: Number(row.rows),
    heapBytes: Number(row.heap_bytes),
    indexBytes: Number(row.index_bytes),
    deadTuples: Number(row.dead_tuples),
    autovacuumCount: Number(row.autovacuum_count),
    newestId: row.newest_id === null ? null : String(row.newest_id),
    waitingFlag: row.waiting_flag === true,
  };
}
