import type { BenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import { RunningVariant, VARIANTS, type VariantName, type WaitingFlag } from '../capture-variants.ts';
import { runSaturatingWriters } from '../load/saturating-writers.ts';
import { WORKLOADS, type WorkloadName } from '../load/workloads.ts';
import { WalMeter, type WalWritten } from '../measure/wal-written.ts';
import { processCpuSeconds } from '../processes/niced-process.ts';

export interface WriterRun {
  variant: VariantName;
  workload: WorkloadName;
  writers: number;
  transactionsPerSecond: number;
  eventsPerSecond: number;
  /** CPU seconds per measured second: listener process, its Postgres backend. */
  listenerCpuShare?: number;
  listenerBackendCpuShare?: number;
  /** Cells measured in several rounds: each round's tx/s; the fields above are the median round's. */
  roundsTransactionsPerSecond?: number[];
  /** WAL of the whole run (warm-up included; with a listener draining, its deletes too), and the events it was written for. */
  wal: WalWritten;
  eventsWritten: number;
  /** Killed-idle runs: the waiting flag as the writers' triggers found it when they started, and when they ended. */
  waitingFlagAtStart?: WaitingFlag;
  waitingFlagAtEnd?: WaitingFlag;
}

/** The cells the targets compare: measured `settings.targetCellRounds` times, median kept. */
export function isTargetCell(workload: WorkloadName, writers: number): boolean {
  return workload === 'insert' && (writers === 8 || writers === 32);
}

export const WRITER_VARIANTS: VariantName[] = [
  'none',
  'naive',
  'pgbridge-trigger',
  'pgbridge-trigger-statement',
  'pgbridge',
  'pgbridge-fifo',
];
/** Multi-row statements: the capture tax against no capture, paused and draining. */
export const MULTI_ROW_VARIANTS: VariantName[] = ['none', 'pgbridge-trigger', 'pgbridge-trigger-statement', 'pgbridge'];

export function isMultiRow(workload: WorkloadName): boolean {
  return WORKLOADS[workload].eventsPerTransaction >= 100;
}

/**
 * The variants of one cell: the killed-idle listener is measured where its target is (inserts,
 * 8 and 32 writers), next to the trigger-only run it is compared with (after it, or before it
 * in every other round: `roundOrder`), so that each round yields one ratio of two neighbouring runs.
 */
export function cellVariants(workload: WorkloadName, writers: number): VariantName[] {
  if (isMultiRow(workload)) return MULTI_ROW_VARIANTS;
  if (!isTargetCell(workload, writers)) return WRITER_VARIANTS;
  return WRITER_VARIANTS.flatMap((name) => (name === 'pgbridge-trigger' ? [name, 'pgbridge-killed-idle' as const] : [name]));
}

/**
 * Figure 1: writer throughput of every variant, workload and writer count. The variants of one
 * cell run back to back (each with its own listener), so that load from other work on a shared
 * machine hits them alike instead of skewing one variant's whole column. The cells the targets
 * compare are measured in several rounds, the variants taking turns in each, and the median
 * round is kept: one noisy moment on a shared machine then moves no ratio.
 */
export async function measureWriterThroughput(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<WriterRun[]> {
  const runs: WriterRun[] = [];
  const cells = [
    ...settings.workloads.flatMap((workload) => settings.writerCounts.map((writers) => ({ workload, writers }))),
    ...settings.multiRowWorkloads.flatMap((workload) => settings.multiRowWriterCounts.map((writers) => ({ workload, writers }))),
  ];
  for (const { workload: workloadName, writers } of cells) {
    const variants = cellVariants(workloadName, writers);
    const rounds = isTargetCell(workloadName, writers) ? settings.targetCellRounds : 1;
    const samples = new Map<VariantName, WriterRun[]>(variants.map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const name of roundOrder(variants, round))
        samples.get(name)!.push(await measureCellWithRetry(env, settings, name, workloadName, writers, progress));
    }
    for (const name of variants) runs.push(medianRound(samples.get(name)!));
  }
  return runs;
}

/**
 * The variants in the order one round runs them: every other round runs the killed-idle
 * listener before trigger only instead of after it, so that whatever drifts from one run to the
 * next (the table the writers fill, vacuum, the host) weighs on both sides of their ratio alike.
 */
export function roundOrder(variants: VariantName[], round: number): VariantName[] {
  const killed = variants.indexOf('pgbridge-killed-idle');
  if (round % 2 === 0 || killed < 1 || variants[killed - 1] !== 'pgbridge-trigger') return variants;
  const order = [...variants];
  [order[killed - 1], order[killed]] = [order[killed]!, order[killed - 1]!];
  return order;
}

export function medianRound(rounds: WriterRun[]): WriterRun {
  if (rounds.length === 1) return rounds[0]!;
  const sorted = [...rounds].sort((a, b) => a.transactionsPerSecond - b.transactionsPerSecond);
  return { ...sorted[Math.floor(sorted.length / 2)]!, roundsTransactionsPerSecond: rounds.map((round) => round.transactionsPerSecond) };
}

export async function measureCellWithRetry(
  env: BenchEnvironment,
  settings: BenchSettings,
  name: VariantName,
  workloadName: WorkloadName,
  writers: number,
  progress: (line: string) => void,
): Promise<WriterRun> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measureCell(env, settings, name, workloadName, writers, progress);
    } catch (error) {
      // A listener that died mid-run (a crash, or a process killed by other work on a
      // shared machine) makes the cell meaningless: run it again once, then give up.
      if (attempt >= 2) throw error;
      progress(`writers  ${name} ${workloadName} ${writers}: ${(error as Error).message.split('\n')[0]}; running the cell again`);
    }
  }
}

async function measureCell(
  env: BenchEnvironment,
  settings: BenchSettings,
  name: VariantName,
  workloadName: WorkloadName,
  writers: number,
  progress: (line: string) => void,
): Promise<WriterRun> {
  const running = await RunningVariant.start(VARIANTS[name], env);
  try {
    await running.reset();
    const workload = WORKLOADS[workloadName];
    const waitingFlagAtStart = running.variant.killedWhileIdle ? await running.waitingFlag() : undefined;
    const cpuBefore = listenerCpu(running);
    const wal = await WalMeter.start(env.admin);
    const started = performance.now();
    const result = await runSaturatingWriters(env.databaseUrl, workload, writers, settings);
    const elapsed = (performance.now() - started) / 1000;
    const walWritten = await wal.stop();
    const waitingFlagAtEnd = running.variant.killedWhileIdle ? await running.waitingFlag() : undefined;
    running.listener?.assertRunning();
    const cpuAfter = listenerCpu(running);
    const run: WriterRun = {
      variant: name,
      workload: workloadName,
      writers,
      transactionsPerSecond: result.transactionsPerSecond,
      eventsPerSecond: result.transactionsPerSecond * workload.eventsPerTransaction,
      wal: walWritten,
      eventsWritten: result.committed * workload.eventsPerTransaction,
      ...(waitingFlagAtStart ? { waitingFlagAtStart } : {}),
      ...(waitingFlagAtEnd ? { waitingFlagAtEnd } : {}),
      ...(cpuBefore && cpuAfter
        ? {
            listenerCpuShare: (cpuAfter.process - cpuBefore.process) / elapsed,
            listenerBackendCpuShare: (cpuAfter.backend - cpuBefore.backend) / elapsed,
          }
        : {}),
    };
    progress(
      `writers  ${name.padEnd(20)} ${workloadName.padEnd(13)} ${String(writers).padStart(2)} writers: ${Math.round(run.transactionsPerSecond)} tx/s, ${Math.round(run.eventsPerSecond)} events/s` +
        (waitingFlagAtStart
          ? ` (waiting flag ${waitingFlagAtStart.waiting ? 'set' : 'clear'}, lock ${waitingFlagAtStart.lockHeld ? 'held' : 'free'}; after: ${waitingFlagAtEnd?.waiting ? 'set' : 'clear'})`
          : '') +
        (run.listenerCpuShare !== undefined
          ? ` (listener ${run.listenerCpuShare.toFixed(2)} cores, its backend ${run.listenerBackendCpuShare!.toFixed(2)})`
          : ''),
    );
    return run;
  } finally {
    await running.stop();
  }
}

function listenerCpu(running: RunningVariant): { process: number; backend: number } | undefined {
  if (!running.listener) return undefined;
  return {
    process: running.listener.cpuSeconds(),
    backend: running.listenerBackendPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
  };
}
