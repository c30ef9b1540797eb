import type { BenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import { RunningVariant, VARIANTS, type VariantName } from '../capture-variants.ts';
import { runPacedInserts } from '../load/paced-writers.ts';
import { connectWriters } from '../load/saturating-writers.ts';
import { WORKLOADS, type WorkloadName } from '../load/workloads.ts';
import { summariseDelays, type DelaySummary } from '../measure/percentiles.ts';
import { processCpuSeconds } from '../processes/niced-process.ts';

export const END_TO_END_VARIANTS: VariantName[] = ['naive', 'pgbridge', 'pgbridge-fifo'];

/** The cell the end-to-end targets compare, with more events than the others for a steadier figure. */
export const HEADLINE_CELL = { workload: 'tx10', writers: 8 } as const satisfies { workload: WorkloadName; writers: number };

export function isHeadlineCell(run: { workload: WorkloadName; writers: number }): boolean {
  return run.workload === HEADLINE_CELL.workload && run.writers === HEADLINE_CELL.writers;
}

export interface ThroughputRun {
  variant: VariantName;
  workload: WorkloadName;
  writers: number;
  events: number;
  delivered: number;
  /** Writers' rate while they wrote. */
  writtenPerSecond: number;
  /** Events in the consumer queue per second, from the first write until the last arrival. */
  deliveredPerSecond: number;
  /** Listener CPU (process + its Postgres backend) per 1,000 delivered events, ms. */
  listenerCpuMsPerThousand: number;
  listenerBackendCpuMsPerThousand: number;
  /** The writers' share: their Postgres backends plus the load generator, per 1,000 events. */
  writersCpuMsPerThousand: number;
  emulatorCpuMsPerThousand: number;
}

export interface DelayRun extends DelaySummary {
  variant: VariantName;
  offeredPerSecond: number;
  written: number;
  /** Events that never reached the queue within the wait. */
  missing: number;
}

export interface EndToEndResults {
  throughput: ThroughputRun[];
  delays: DelayRun[];
  /** Peak RSS of each variant's listener over its runs, MB. */
  peakRssMb: Partial<Record<VariantName, number>>;
}

/** Figures 2 and 3 (and the listener's share of 4): one listener per variant for all its runs. */
export async function measureEndToEnd(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<EndToEndResults> {
  const results: EndToEndResults = { throughput: [], delays: [], peakRssMb: {} };
  for (const name of END_TO_END_VARIANTS) {
    const running = await RunningVariant.start(VARIANTS[name], env);
    try {
      if (settings.phases.has('e2e')) {
        for (const cell of endToEndCells(settings)) {
          await running.reset();
          const events = isHeadlineCell(cell) ? settings.e2eHeadlineEvents : settings.e2eCellEvents;
          const run = await saturate(env, running, cell.workload, cell.writers, events);
          results.throughput.push(run);
          progress(
            `e2e      ${name.padEnd(16)} ${cell.workload.padEnd(6)} ${String(cell.writers).padStart(2)} writers: written ${Math.round(run.writtenPerSecond)}/s, delivered ${Math.round(run.deliveredPerSecond)}/s (${run.delivered}/${run.events}); CPU ms per 1k events: writers ${run.writersCpuMsPerThousand.toFixed(0)}, listener ${run.listenerCpuMsPerThousand.toFixed(0)} + backend ${run.listenerBackendCpuMsPerThousand.toFixed(0)}, emulator ${run.emulatorCpuMsPerThousand.toFixed(0)}`,
          );
        }
      }
      if (settings.phases.has('delay')) {
        for (const offered of settings.offeredLoads) {
          await running.reset();
          const run = await measureDelay(env, running, offered, settings.delaySeconds);
          results.delays.push(run);
          progress(
            `delay    ${name.padEnd(16)} ${offered}/s: p50 ${run.p50} ms, p99 ${run.p99} ms, max ${run.max} ms, missing ${run.missing}`,
          );
        }
      }
      results.peakRssMb[name] = running.listener!.peakRssMb();
    } finally {
      await running.stop();
    }
  }
  return results;
}

/** Every workload × writer count of figure 1, and always the headline cell. */
function endToEndCells(settings: BenchSettings): { workload: WorkloadName; writers: number }[] {
  const cells = settings.workloads.flatMap((workload) => settings.writerCounts.map((writers) => ({ workload, writers })));
  return cells.some(isHeadlineCell) ? cells : [...cells, { ...HEADLINE_CELL }];
}

/**
 * `events` row changes written as fast as `writers` connections can, then the time until the
 * last one is in the consumer queue: the pipeline's rate whenever it, not the writers, is the
 * bottleneck.
 */
async function saturate(
  env: BenchEnvironment,
  running: RunningVariant,
  workloadName: WorkloadName,
  writers: number,
  events: number,
): Promise<ThroughputRun> {
  const queue = running.queue!;
  const listener = running.listener!;
  const backendCpuNow = () => running.listenerBackendPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const workload = WORKLOADS[workloadName];
  const clients = await connectWriters(env.databaseUrl, writers);
  const writerPids = (
    await env.admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-writer'`)
  ).rows.map((row) => row.pid);
  const writersCpuNow = () => writerPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const cpuBefore = listener.cpuSeconds();
  const backendBefore = backendCpuNow();
  const emulatorBefore = env.emulatorCpuSeconds();
  const writersBefore = writersCpuNow();
  const loadGeneratorBefore = process.cpuUsage();
  const transactions = Math.ceil(events / workload.eventsPerTransaction);
  let next = 0;
  const started = Date.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next++ < transactions) await client.query(workload.transaction());
    }),
  );
  const written = Date.now();
  const writersCpu = writersCpuNow() - writersBefore;
  await Promise.all(clients.map((client) => client.end()));
  const total = transactions * workload.eventsPerTransaction;
  const arrival = await queue.waitForCount(total, 120_000, () => listener.assertRunning());
  const seconds = (arrival.at - started) / 1000;
  const cpu = listener.cpuSeconds() - cpuBefore;
  const backendCpu = backendCpuNow() - backendBefore;
  const loadGenerator = process.cpuUsage(loadGeneratorBefore);
  const perThousand = (seconds: number) => (seconds * 1000) / (arrival.count / 1000);
  return {
    variant: running.variant.name,
    workload: workloadName,
    writers,
    events: total,
    delivered: arrival.count,
    writtenPerSecond: total / ((written - started) / 1000),
    deliveredPerSecond: arrival.count / seconds,
    listenerCpuMsPerThousand: perThousand(cpu),
    listenerBackendCpuMsPerThousand: perThousand(backendCpu),
    // The load generator also polls the queue count until the last arrival: a small overcount.
    writersCpuMsPerThousand: perThousand(writersCpu + (loadGenerator.user + loadGenerator.system) / 1e6),
    emulatorCpuMsPerThousand: perThousand(env.emulatorCpuSeconds() - emulatorBefore),
  };
}

/** Figure 3: commit-to-receive delay at a fixed offered load of single-row inserts. */
async function measureDelay(env: BenchEnvironment, running: RunningVariant, offered: number, seconds: number): Promise<DelayRun> {
  const queue = running.queue!;
  const receiving = queue.startReceiving();
  const { written } = await runPacedInserts(env.databaseUrl, offered, { seconds });
  const deadline = Date.now() + 30_000;
  while (receiving.delays.length < written && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await receiving.stop();
  // The first 10% (connection set-up, cold plans) is warm-up, not steady state.
  const steady = receiving.delays.slice(Math.floor(receiving.delays.length / 10));
  return {
    variant: running.variant.name,
    offeredPerSecond: offered,
    written,
    missing: Math.max(0, written - receiving.delays.length),
    ...summariseDelays(steady),
  };
}
