import type pg from 'pg';

/** WAL the whole cluster wrote between two points: total bytes, and the full-page images' share. */
export interface WalWritten {
  bytes: number;
  /** Full-page images (first change of a page after a checkpoint); undefined without pg_walinspect. */
  fpiBytes?: number;
  records?: number;
}

/**
 * Counts WAL by LSN difference. pg_walinspect (PostgreSQL 15+, created in the bench schema when
 * the server ships it) splits off the full-page images: they depend on how far the last
 * checkpoint is, not on what a row change costs, so the per-event figures are given without them.
 */
export class WalMeter {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly startLsn: string,
  ) {}

  static async start(pool: pg.Pool): Promise<WalMeter> {
    const { rows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    return new WalMeter(pool, rows[0]!.lsn);
  }

  async stop(): Promise<WalWritten> {
    const { rows } = await this.pool.query<{ end_lsn: string; bytes: string; inspect: boolean }>(
      `SELECT pg_current_wal_insert_lsn()::text AS end_lsn, pg_current_wal_insert_lsn() - $1::pg_lsn AS bytes,
              to_regproc('bench.pg_get_wal_stats') IS NOT NULL AS inspect`,
      [this.startLsn],
    );
    const { end_lsn: endLsn, bytes, inspect } = rows[0]!;
    if (!inspect) return { bytes: Number(bytes) };
    // Only flushed WAL can be read: a listener's asynchronous commit may still be in the buffers.
    const stats = await this.pool.query<{ fpi: string | null; records: string | null }>(
      `SELECT sum(fpi_size) AS fpi, sum(count) AS records
       FROM bench.pg_get_wal_stats($1::pg_lsn, least($2::pg_lsn, pg_current_wal_flush_lsn()), false)`,
      [this.startLsn, endLsn],
    );
    return { bytes: Number(bytes), fpiBytes: Number(stats.rows[0]?.fpi ?? 0), records: Number(stats.rows[0]?.records ?? 0) };
  }
}

/** WAL bytes per event without full-page images, where they could be told apart. */
export function walBytesPerEvent(wal: WalWritten, events: number): number {
  return (wal.bytes - (wal.fpiBytes ?? 0)) / events;
}
