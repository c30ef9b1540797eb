import { publishAll } from '../../lib/sinks/batch-publisher.ts';
import type { OutgoingMessage, Sink } from '../../lib/sinks/sink.ts';

/**
 * The queue service's own limit as the listener meets it: batch publishes of pgbridge-shaped
 * messages with the listener's batch size and concurrency, in a bare loop, no Postgres involved.
 */
export async function measureSinkCeiling(
  sink: Sink,
  { seconds, batchSize, maxInFlight, sampleBody }: { seconds: number; batchSize: number; maxInFlight: number; sampleBody: string },
): Promise<{ events: number; seconds: number; eventsPerSecond: number; clientCpuMsPerThousand: number }> {
  let nextId = 1;
  const round = (): OutgoingMessage[] =>
    Array.from({ length: batchSize }, () => {
      const id = String(nextId++);
      return {
        id,
        body: sampleBody.replace('"id":"0"', `"id":"${id}"`),
        attributes: { table: 'items', schema: 'bench', action: 'insert' },
        ...(sink.fifo ? { groupId: `bench.items:${id}` } : {}),
      };
    });
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let events = 0;
  while (performance.now() < end) {
    const report = await publishAll(sink, round(), maxInFlight);
    events += report.outcomes.filter((outcome) => outcome.ok).length;
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { events, seconds: elapsed, eventsPerSecond: events / elapsed, clientCpuMsPerThousand: (cpu.user + cpu.system) / events };
}
