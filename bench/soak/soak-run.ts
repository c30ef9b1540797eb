import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { BenchEnvironment } from '../bench-environment.ts';
import { RunningVariant, VARIANTS } from '../capture-variants.ts';
import { IntervalRecorder } from './interval-recorder.ts';
import { readOutboxStats } from './outbox-stats.ts';
import { type OutageSummary, phaseFigures } from './outage-summary.ts';
import { PacedStream } from './paced-stream.ts';
import type { SoakRow } from './soak-row.ts';
import type { SoakSettings } from './soak-settings.ts';
import { judgeSustained, outboxBytes, type SustainedVerdict } from './soak-verdict.ts';

export interface SoakResults {
  mode: 'sustained' | 'outage';
  settings: SoakSettings;
  startedAt: string;
  /** 1, 5 and 15 minute load averages at the start and the end: the machine is shared. */
  loadAverage: { start: number[]; end: number[] };
  rows: SoakRow[];
  sustained?: SustainedVerdict;
  outage?: OutageSummary;
}

const CATCH_UP_PENDING_SQL = readFileSync(new URL('./catch-up-pending.sql', import.meta.url), 'utf8');
/** Enough receivers that the consumer side keeps up with 2,000 messages/s on the shared cores. */
const RECEIVERS = 8;

/**
 * The bundled listener (standard topic, under `nice`, as the benchmark runs it) drains while
 * paced writers insert; the consumer queue is read (and emptied) throughout. The outage mode
 * SIGKILLs the listener mid-run, as a crash would, and starts a new one after the outage.
 */
export async function runSoak(env: BenchEnvironment, settings: SoakSettings, progress: (line: string) => void): Promise<SoakResults> {
  const results: SoakResults = {
    mode: settings.outage ? 'outage' : 'sustained',
    settings,
    startedAt: new Date().toISOString(),
    loadAverage: { start: os.loadavg(), end: [] },
    rows: [],
  };
  const running = await RunningVariant.start(VARIANTS.pgbridge, env);
  await running.reset();
  await env.admin.query('VACUUM ANALYZE pgbridge.outbox');
  const receiving = running.queue!.startReceiving(RECEIVERS, { deleteReceived: true });
  const writers = await PacedStream.start(env.databaseUrl, settings.eventsPerSecond, settings.writers);
  const recorder = new IntervalRecorder(env.admin, writers, receiving.delays, settings.intervalSeconds, (row) => progress(formatRow(row)));
  const after = (seconds: number) => Date.now() + seconds * 1000;
  const listenerAlive = async () => {
    running.listener?.assertRunning();
    return false;
  };
  try {
    const { outage } = settings;
    if (!outage) {
      await recorder.runPhase('sustained', { endsAt: after(settings.seconds), done: listenerAlive });
      results.sustained = judgeSustained(recorder.rows);
    } else {
      await recorder.runPhase('before', { endsAt: after(outage.beforeSeconds), done: listenerAlive });
      process.kill(running.listener!.pid, 'SIGKILL');
      await running.stopListener();
      progress(`soak     listener killed (SIGKILL) for ${outage.outageSeconds} s`);
      await recorder.runPhase('outage', { endsAt: after(outage.outageSeconds) });
      const atRestart = await readOutboxStats(env.admin);
      const restartedAt = Date.now();
      await running.startListener();
      progress(`soak     listener started again; ${atRestart.rows} events waiting`);
      let drainedAt: number | undefined;
      await recorder.runPhase('catch-up', {
        endsAt: after(outage.catchUpTimeoutSeconds),
        done: async () => {
          await listenerAlive();
          if (atRestart.newestId === null) drainedAt = restartedAt;
          else if (!(await env.admin.query(CATCH_UP_PENDING_SQL, [atRestart.newestId])).rows[0].pending) drainedAt = Date.now();
          return drainedAt !== undefined;
        },
      });
      results.outage = summariseOutage(recorder, outage.outageSeconds, atRestart.rows, restartedAt, drainedAt);
    }
  } finally {
    await writers.stop();
    await receiving.stop();
    await running.stop();
  }
  results.rows = recorder.rows;
  results.loadAverage.end = os.loadavg();
  return results;
}

function summariseOutage(
  recorder: IntervalRecorder,
  outageSeconds: number,
  waitingAtRestart: number,
  restartedAt: number,
  drainedAt: number | undefined,
): OutageSummary {
  const { rows, latencies } = recorder;
  const figures = (phase: 'before' | 'outage' | 'catch-up') => phaseFigures(rows, latencies, phase);
  const [before, during, catchUp] = [figures('before'), figures('outage'), figures('catch-up')];
  const drainSeconds = ((drainedAt ?? Date.now()) - restartedAt) / 1000;
  const waitingAfterCatchUp = rows.at(-1)?.outbox.rows ?? 0;
  const pick = ({ transactionsPerSecond, latencyP99Ms, latencyP50Ms }: ReturnType<typeof figures>) => ({
    transactionsPerSecond,
    latencyP99Ms,
    latencyP50Ms,
  });
  return {
    outageSeconds,
    phases: { before: pick(before), outage: pick(during), 'catch-up': pick(catchUp) },
    outageWriterRatio: during.transactionsPerSecond / before.transactionsPerSecond,
    waitingFlagDuringOutage: rows.some((row) => row.phase === 'outage' && row.outbox.waitingFlag),
    waitingAtRestart,
    writtenDuringOutage: Math.round(during.transactions),
    drainSeconds,
    drained: drainedAt !== undefined,
    waitingAfterCatchUp,
    catchUpEventsPerSecond: (waitingAtRestart + catchUp.transactions - waitingAfterCatchUp) / drainSeconds,
  };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

export function formatRow(row: SoakRow): string {
  const minutes = `${Math.floor(row.atSeconds / 60)}:${String(Math.round(row.atSeconds % 60)).padStart(2, '0')}`;
  const { outbox, drainDelay } = row;
  return (
    `soak     ${row.phase.padEnd(9)} ${minutes.padStart(6)}  writers ${Math.round(row.writerTransactionsPerSecond)} tx/s ` +
    `(p99 ${row.writerLatencyP99Ms.toFixed(1)} ms, lag ${Math.round(row.writerMaxLagMs)} ms)  outbox ${outbox.rows} rows, ` +
    `heap ${mb(outbox.heapBytes)} + index ${mb(outbox.indexBytes)} = ${mb(outboxBytes(row))}, dead ${outbox.deadTuples}, ` +
    `autovacuum ${outbox.autovacuumCount}${outbox.waitingFlag ? ', waiting flag set' : ''}  ` +
    `drain ${drainDelay.count} received, p50 ${drainDelay.p50} ms, p99 ${drainDelay.p99} ms`
  );
}
