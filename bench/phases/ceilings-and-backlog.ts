import { SNSClient } from '@aws-sdk/client-sns';
import { statement } from '../../lib/capture/sql-files.ts';
import { SdkSnsSink } from '../../lib/sinks/sdk-sns-sink.ts';
import { SnsSink } from '../../lib/sinks/sns-sink.ts';
import type { BenchEnvironment } from '../bench-environment.ts';
import type { BenchSettings } from '../bench-settings.ts';
import { RunningVariant, VARIANTS, type VariantName } from '../capture-variants.ts';
import { measureSinkCeiling } from '../ceilings/sink-ceiling.ts';
import { NicedProcess } from '../processes/niced-process.ts';

/** The listener's defaults (functions/listener/listener-settings.ts), used by the sink loop too. */
const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_MAX_IN_FLIGHT = 16;

export interface CeilingRun {
  /** `sink-sdk`: the sink loop through the AWS SDK's PublishBatchCommand instead of pgbridge's client. */
  kind: 'drain' | 'sink' | 'sink-sdk';
  fifo: boolean;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  cpuSeconds?: number;
  /** Sink loops: CPU of the publishing process per 1,000 events, ms (µs per event). */
  clientCpuMsPerThousand?: number;
}

export interface BacklogRun {
  variant: VariantName;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  listenerCpuSeconds: number;
  peakRssMb: number;
}

/** Fills the outbox with `events` inserts while no listener runs. */
async function preloadBacklog(env: BenchEnvironment, events: number): Promise<void> {
  await env.admin.query('TRUNCATE pgbridge.outbox');
  await env.admin.query(`INSERT INTO bench.items (sent_at, note) SELECT ${Date.now()}, 'backlog' FROM generate_series(1, ${events})`);
  await env.admin.query('VACUUM ANALYZE pgbridge.outbox');
  await env.admin.query('CHECKPOINT');
}

/** One real message body, to give the sink loop messages of the listener's shape and size. */
async function sampleBody(env: BenchEnvironment): Promise<string> {
  const client = await env.admin.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(statement('drain/fetch-events'), [1, []]);
    await client.query('ROLLBACK');
    return (rows[0]?.body as string | undefined)?.replace(/"id" ?: ?"\d+"/, '"id":"0"') ?? '{"id":"0"}';
  } finally {
    client.release();
  }
}

/** Figure 4's drain ceiling and the sink ceiling of the end-to-end target. */
export async function measureCeilings(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<CeilingRun[]> {
  const runs: CeilingRun[] = [];
  const running = await RunningVariant.start(VARIANTS['pgbridge-trigger'], env);
  try {
    for (const fifo of [false, true]) {
      await preloadBacklog(env, settings.backlogEvents);
      const drainer = new NicedProcess('drain ceiling', ['--import', 'tsx', 'bench/ceilings/drain-ceiling-main.ts'], {
        DATABASE_URL: env.databaseUrl,
        BENCH_EXPECTED_EVENTS: String(settings.backlogEvents),
        BENCH_FIFO: String(fifo),
      });
      const result = JSON.parse(await drainer.waitForLine(/eventsPerSecond/, 300_000));
      await drainer.stop();
      runs.push({ kind: 'drain', fifo, ...result });
      progress(
        `ceiling  drain${fifo ? ' FIFO' : ''}: ${Math.round(result.eventsPerSecond)} events/s (${result.events} in ${result.seconds.toFixed(1)} s, listener CPU ${result.cpuSeconds.toFixed(1)} s)`,
      );
    }
    await preloadBacklog(env, 1);
    const body = await sampleBody(env);
    await env.admin.query('TRUNCATE pgbridge.outbox');
    const sns = new SNSClient({
      endpoint: env.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
    });
    const loops = [
      { kind: 'sink', fifo: false },
      { kind: 'sink', fifo: true },
      { kind: 'sink-sdk', fifo: false },
    ] as const;
    for (const { kind, fifo } of loops) {
      const topic = fifo ? env.topics.fifo : env.topics.standard;
      const sink = kind === 'sink' ? new SnsSink(sns, topic) : new SdkSnsSink(sns, topic);
      const result = await measureSinkCeiling(sink, {
        seconds: settings.seconds * 2,
        batchSize: DEFAULT_BATCH_SIZE,
        maxInFlight: DEFAULT_MAX_IN_FLIGHT,
        sampleBody: body,
      });
      runs.push({ kind, fifo, ...result });
      progress(
        `ceiling  ${kind}${fifo ? ' FIFO' : ''}: ${Math.round(result.eventsPerSecond)} events/s, client CPU ${result.clientCpuMsPerThousand.toFixed(0)} ms per 1k events`,
      );
      await (fifo ? env.queues.fifo : env.queues.standard).purge();
    }
    sns.destroy();
  } finally {
    await running.stop();
  }
  return runs;
}

/** Figure 5: `backlogEvents` waiting in the outbox, then the real listener starts. */
export async function measureBacklog(
  env: BenchEnvironment,
  settings: BenchSettings,
  progress: (line: string) => void,
): Promise<BacklogRun[]> {
  const runs: BacklogRun[] = [];
  for (const name of ['pgbridge', 'pgbridge-fifo'] as const) {
    const running = await RunningVariant.start(VARIANTS[name], env);
    try {
      await running.stopListener();
      await preloadBacklog(env, settings.backlogEvents);
      await running.queue!.purge();
      await running.startListener();
      const started = Date.now();
      const arrival = await running.queue!.waitForCount(settings.backlogEvents, 600_000, () => running.listener!.assertRunning());
      const run: BacklogRun = {
        variant: name,
        events: arrival.count,
        seconds: (arrival.at - started) / 1000,
        eventsPerSecond: arrival.count / ((arrival.at - started) / 1000),
        listenerCpuSeconds: running.listener!.cpuSeconds(),
        peakRssMb: running.listener!.peakRssMb(),
      };
      runs.push(run);
      progress(
        `backlog  ${name.padEnd(16)} ${run.events} events in ${run.seconds.toFixed(1)} s (${Math.round(run.eventsPerSecond)}/s), peak RSS ${run.peakRssMb.toFixed(0)} MB`,
      );
      await running.queue!.purge();
    } finally {
      await running.stop();
    }
  }
  return runs;
}
