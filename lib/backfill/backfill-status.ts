import type pg from 'pg';
import { statement } from '../capture/sql-files.ts';

export interface BackfillSummary {
  id: string;
  watch: string;
  where: string | null;
  target: string | null;
  /** `interrupted`: its process died; running the same command again continues it. */
  state: 'running' | 'interrupted' | 'done' | 'restarted';
  rowsDone: number;
  rowsEstimate: number | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/**
 * The backfills of this database, oldest first: every one, or with `unfinished` only those
 * running or interrupted. An empty list where pgbridge has none (or is not installed).
 */
export async function listBackfills(client: pg.ClientBase, { unfinished = false } = {}): Promise<BackfillSummary[]> {
  const { rows: present } = await client.query(statement('backfill/registry-exists'));
  if (!present[0].present) return [];
  const { rows } = await client.query(statement('backfill/list'), [unfinished]);
  return rows.map((row) => ({
    id: row.id,
    watch: row.watch_name,
    where: row.where_clause,
    target: row.target,
    state: row.state,
    rowsDone: Number(row.rows_done),
    rowsEstimate: row.rows_estimate === null ? null : Number(row.rows_estimate),
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  }));
}
