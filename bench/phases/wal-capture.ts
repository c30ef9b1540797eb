import { type BenchEnvironment, startBenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import type { VariantName } from '../capture-variants.ts';
import type { WorkloadName } from '../load/workloads.ts';
import { type BulkRun, measureBulkStatements } from './bulk-statements.ts';
import { measureCellWithRetry, medianRound, type WriterRun } from './writer-throughput.ts';

export interface WalCaptureResults {
  /** Why the phase measured nothing (a DATABASE_URL server without wal_level = logical). */
  skipped?: string;
  writers: WriterRun[];
  bulk: BulkRun[];
}

/** No capture, the default trigger, and the WAL watch paused and draining, on one server. */
export const WAL_WRITER_VARIANTS: VariantName[] = ['none', 'pgbridge-trigger', 'pgbridge-wal', 'pgbridge-wal-draining'];
export const WAL_BULK_VARIANTS: VariantName[] = ['none', 'pgbridge-trigger', 'pgbridge-wal'];
const WAL_WORKLOADS: WorkloadName[] = ['insert', 'update', 'tx10', 'insert-select', 'update-many'];
const WAL_WRITERS = 8;

/**
 * `"capture": "wal"` against no capture and the trigger, on a server of its own with
 * wal_level = logical (the other phases run at the default, replica, so their figures stay
 * comparable with earlier runs). "none" is measured here too, at wal_level = logical: what a
 * server pays for logical WAL alone shows in none's WAL against the writers phase's.
 */
export async function measureWalCapture(
  main: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<WalCaptureResults> {
  const env = await startBenchEnvironment(
    { ...process.env, AWS_ENDPOINT_URL: main.endpoint },
    { postgresSettings: { wal_level: 'logical', max_replication_slots: '4', max_wal_senders: '4' } },
  );
  try {
    const { rows } = await env.admin.query(`SELECT current_setting('wal_level') AS level`);
    if (rows[0].level !== 'logical') {
      const skipped = `the server in DATABASE_URL runs wal_level = ${rows[0].level}`;
      progress(`wal      skipped: ${skipped}`);
      return { skipped, writers: [], bulk: [] };
    }
    const writers: WriterRun[] = [];
    for (const workload of WAL_WORKLOADS) {
      const samples = new Map<VariantName, WriterRun[]>(WAL_WRITER_VARIANTS.map((name) => [name, []]));
      for (let round = 0; round < settings.targetCellRounds; round++) {
        for (const name of WAL_WRITER_VARIANTS)
          samples
            .get(name)!
            .push(await measureCellWithRetry(env, settings, name, workload, WAL_WRITERS, (line) => progress(`wal ${line}`)));
      }
      for (const name of WAL_WRITER_VARIANTS) writers.push(medianRound(samples.get(name)!));
    }
    const bulk = await measureBulkStatements(env, settings, (line) => progress(`wal ${line}`), WAL_BULK_VARIANTS);
    return { writers, bulk };
  } finally {
    await env.stop();
  }
}
