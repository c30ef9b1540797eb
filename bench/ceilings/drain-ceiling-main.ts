import { Listener } from '../../functions/listener/listener.ts';
import { readListenerSettings } from '../../functions/listener/listener-settings.ts';
import { createLogger } from '../../lib/logger.ts';
import { processCpuSeconds } from '../processes/niced-process.ts';
import { DiscardSink } from './discard-sink.ts';

// The real Listener with its default settings, draining an outbox filled beforehand into a sink
// that discards. Prints one JSON line: events, seconds, and where the CPU went.
const expected = Number(process.env.BENCH_EXPECTED_EVENTS);
const settings = readListenerSettings(process.env);
const listener = new Listener({
  connection: { connectionString: settings.DATABASE_URL },
  sink: new DiscardSink(process.env.BENCH_FIFO === 'true'),
  batchSize: settings.PGBRIDGE_BATCH_SIZE,
  maxInFlight: settings.PGBRIDGE_MAX_IN_FLIGHT,
  parkAfterRejections: settings.PGBRIDGE_PARK_AFTER_REJECTIONS,
  pollIntervalMs: settings.PGBRIDGE_POLL_INTERVAL_MS,
  leaderRetryMs: settings.PGBRIDGE_LEADER_RETRY_MS,
  maxBackoffMs: settings.PGBRIDGE_MAX_BACKOFF_MS,
  retryBaseMs: settings.PGBRIDGE_RETRY_BASE_MS,
  watchCheckIntervalMs: settings.PGBRIDGE_WATCH_CHECK_INTERVAL_MS,
  log: createLogger('drain-ceiling', { level: 'warn' }),
});

let published = 0;
let started = 0;
const cpuBefore = processCpuSeconds(process.pid);
const done = new Promise<void>((resolve) => {
  listener.on('drained', (result) => {
    if (started === 0) started = performance.now();
    published += result.published;
    if (published >= expected) resolve();
  });
});
await listener.start();
await done;
const seconds = (performance.now() - started) / 1000;
const cpuSeconds = processCpuSeconds(process.pid) - cpuBefore;
await listener.stop();
console.log(JSON.stringify({ events: published, seconds, cpuSeconds, eventsPerSecond: published / seconds }));
