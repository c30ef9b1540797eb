import { Listener } from '../../functions/listener/listener.ts';
import { listenerOptionsFrom, readListenerSettings } from '../../functions/listener/listener-settings.ts';
import { createLogger } from '../../lib/logger.ts';
import { processCpuSeconds } from '../processes/niced-process.ts';
import { DiscardSink } from './discard-sink.ts';

// The real Listener with its default settings, draining an outbox filled beforehand into a sink
// that discards. Prints one JSON line: events, seconds, and where the CPU went.
const expected = Number(process.env.BENCH_EXPECTED_EVENTS);
const settings = readListenerSettings(process.env);
const listener = new Listener({
  ...listenerOptionsFrom(settings),
  sink: new DiscardSink(process.env.BENCH_FIFO === 'true'),
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
