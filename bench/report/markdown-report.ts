import { checkTargets, writerRate, type BenchResults } from '../bench-results.ts';
import { describeHostSpeed } from '../measure/host-speed.ts';
import { WORKLOADS } from '../load/workloads.ts';
import { VARIANTS } from '../capture-variants.ts';
import type { CeilingRun } from '../phases/ceilings-and-backlog.ts';
import type { CoalescingRun } from '../phases/coalescing.ts';
import { END_TO_END_VARIANTS, isHeadlineCell } from '../phases/end-to-end.ts';
import { isMultiRow, WRITER_VARIANTS } from '../phases/writer-throughput.ts';
import { renderSoak } from '../soak/soak-report.ts';
import { killedIdleSection, multiRowSection, profileSection, walSection } from './capture-tax-sections.ts';
import { n, table, x } from './markdown-table.ts';
import { walCaptureSection } from './wal-capture-section.ts';

/** The report printed at the end of `npm run bench` (and pasted into the README). */
export function renderMarkdown(results: BenchResults): string {
  const { machine } = results;
  const out: string[] = [];
  out.push(
    `Measured on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres} (fsync on), SNS/SQS: ${machine.emulator}; listeners and emulator under \`nice -n 19\`. Total run ${Math.round(results.durationSeconds)} s.\n`,
  );
  if (machine.hostSpeed) out.push(`${describeHostSpeed(machine.hostSpeed)}\n`);
  for (const again of results.remeasured ?? [])
    out.push(
      `**Measured again** and merged in (BENCH_MERGE): phase ${again.phases.join(', ')} on ${again.at.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(again.durationSeconds)} s; ${describeHostSpeed(again.hostSpeed)}\n`,
    );

  const singleRow = results.writers.filter((run) => !isMultiRow(run.workload));
  if (singleRow.length > 0) {
    out.push('### Writer throughput (transactions/s, ratio to none)\n');
    const keys = [...new Set(singleRow.map((run) => `${run.workload}/${run.writers}`))];
    out.push(
      table(
        ['workload', 'writers', ...WRITER_VARIANTS.map((variant) => VARIANTS[variant].title), 'pgbridge ÷ naive'],
        keys.map((key) => {
          const [workload, writersText] = key.split('/') as [keyof typeof WORKLOADS, string];
          const writers = Number(writersText);
          const none = writerRate(results, 'none', workload, writers);
          const naive = writerRate(results, 'naive', workload, writers);
          const bridge = writerRate(results, 'pgbridge', workload, writers);
          const rounds = results.writers.find((run) => run.workload === workload && run.writers === writers)?.roundsTransactionsPerSecond
            ?.length;
          return [
            WORKLOADS[workload].title,
            rounds ? `${writersText} (median of ${rounds} rounds)` : writersText,
            ...WRITER_VARIANTS.map((variant) => {
              const rate = writerRate(results, variant, workload, writers);
              return variant === 'none' ? n(rate) : `${n(rate)}${x(rate !== undefined && none ? rate / none : undefined)}`;
            }),
            bridge !== undefined && naive ? `${(bridge / naive).toFixed(2)}×` : '–',
          ];
        }),
      ),
    );
  }

  out.push(
    killedIdleSection(results),
    multiRowSection(results),
    walSection(results),
    profileSection(results.profile),
    walCaptureSection(results.walCapture),
  );

  const { throughput, delays, peakRssMb } = results.endToEnd;
  if (throughput.length > 0 || results.ceilings.length > 0 || results.backlog.length > 0) {
    out.push('\n### End-to-end throughput, ceilings, backlog (events/s)\n');
    const rows: string[][] = throughput
      .filter(isHeadlineCell)
      .map((run) => [
        `end to end, ${VARIANTS[run.variant].title}: ${n(run.events)} events from ${run.writers} writers (${WORKLOADS[run.workload].title}s) to the consumer queue`,
        n(run.deliveredPerSecond),
        `writers ${n(run.writtenPerSecond)}/s; CPU per 1k events: writers ${n(run.writersCpuMsPerThousand)} ms, listener ${n(run.listenerCpuMsPerThousand)} ms + its backend ${n(run.listenerBackendCpuMsPerThousand)} ms, emulator ${n(run.emulatorCpuMsPerThousand)} ms`,
      ]);
    const ceilingTitle = (run: CeilingRun) => {
      if (run.kind === 'drain')
        return `drain ceiling${run.fifo ? ' (FIFO)' : ''}: real listener, discarding sink, ${n(run.events)} events waiting`;
      const client = run.kind === 'sink' ? "pgbridge's publish client" : "the AWS SDK's PublishBatchCommand";
      return `sink ceiling${run.fifo ? ' (FIFO topic)' : ''}: bare PublishBatch loop through ${client}, 10/batch, 16 in flight`;
    };
    for (const run of results.ceilings) {
      rows.push([
        ceilingTitle(run),
        n(run.eventsPerSecond),
        run.cpuSeconds !== undefined
          ? `listener CPU ${run.cpuSeconds.toFixed(1)} s for ${run.seconds.toFixed(1)} s`
          : run.clientCpuMsPerThousand !== undefined
            ? `publishing process CPU ${n(run.clientCpuMsPerThousand)} ms per 1k events`
            : '',
      ]);
    }
    for (const run of results.backlog) {
      rows.push([
        `backlog catch-up, ${VARIANTS[run.variant].title}: ${n(run.events)} events waiting`,
        n(run.eventsPerSecond),
        `${run.seconds.toFixed(1)} s to drain; peak RSS ${run.peakRssMb.toFixed(0)} MB`,
      ]);
    }
    rows.push(['backlog catch-up, naive', '–', 'impossible: notifications sent while no listener is connected are lost']);
    out.push(table(['measurement', 'events/s', 'notes'], rows));
  }

  const cells = [...new Set(throughput.map((run) => `${run.workload}/${run.writers}`))];
  if (cells.length > 1) {
    out.push('\n### End-to-end throughput by workload and writers (events/s reaching the consumer queue)\n');
    const delivered = (variant: string, key: string) =>
      throughput.find((run) => run.variant === variant && `${run.workload}/${run.writers}` === key);
    out.push(
      table(
        ['workload', 'writers', 'events', ...END_TO_END_VARIANTS.map((variant) => VARIANTS[variant].title), 'pgbridge ÷ naive'],
        cells.map((key) => {
          const [workload, writers] = key.split('/') as [keyof typeof WORKLOADS, string];
          const naive = delivered('naive', key)?.deliveredPerSecond;
          const bridge = delivered('pgbridge', key)?.deliveredPerSecond;
          return [
            WORKLOADS[workload].title,
            writers,
            n(delivered('pgbridge', key)?.events ?? delivered('naive', key)?.events),
            ...END_TO_END_VARIANTS.map((variant) => n(delivered(variant, key)?.deliveredPerSecond)),
            bridge !== undefined && naive ? `${(bridge / naive).toFixed(2)}×` : '–',
          ];
        }),
      ),
    );
  }

  if (delays.length > 0) {
    out.push('\n### End-to-end delay, commit to message received from the consumer queue (ms)\n');
    out.push(
      table(
        ['variant', 'offered events/s', 'p50', 'p99', 'max', 'missing', 'listener peak RSS'],
        delays.map((run) => [
          VARIANTS[run.variant].title,
          n(run.offeredPerSecond),
          n(run.p50),
          n(run.p99),
          n(run.max),
          n(run.missing),
          `${(peakRssMb[run.variant] ?? NaN).toFixed(0)} MB`,
        ]),
      ),
    );
  }

  if (results.coalescing.length > 0) out.push(coalescingSection(results.coalescing));
  for (const run of results.soak) out.push(`\n${renderSoak(run)}`);

  out.push('\n### Targets (ratios within this run)\n');
  out.push(
    table(
      ['target', 'measured', 'met'],
      checkTargets(results).map((check) => [check.target, check.measured, check.met === undefined ? '–' : check.met ? 'yes' : '**no**']),
    ),
  );
  return out.join('\n');
}

/** Issue 12: what `coalesce` saves on hot rows, and what it costs in delay. */
function coalescingSection(runs: CoalescingRun[]): string {
  const first = runs[0]!;
  const without = (run: CoalescingRun) => runs.find((other) => other.topic === run.topic && other.coalesce === null);
  const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(3)}×` : '–');
  const delay = (summary: CoalescingRun['updateDelay']) => `${n(summary.p50)} / ${n(summary.p99)}`;
  return [
    `\n### Coalescing: ${n(first.updates)} updates of ${first.rows} hot rows from ${first.writers} writers, per topic with and without \`coalesce\`\n`,
    'Messages are those of the hot rows in the consumer queue; PublishBatch requests are counted between the listener and the SNS endpoint. ' +
      "Delays run from an update's commit to the receipt of the first message carrying it (per update) or of the message whose newest update it is (per message); they depend on the machine's load, the counts on how many windows the writes span.\n",
    table(
      [
        'topic',
        'coalesce',
        'written in',
        'messages',
        'PublishBatch requests',
        'messages per 10,000 updates',
        'requests per 10,000 updates',
        'messages, requests ÷ without',
        'delay per update p50 / p99 ms',
        'delay per message p50 / p99 ms',
        'at the last commit: in the outbox, received',
        'final state of every row',
        'updates missing / duplicated',
        'FIFO order violations',
      ],
      runs.map((run) => {
        const base = without(run);
        return [
          run.topic,
          run.coalesce ?? 'off',
          `${run.writeSeconds.toFixed(1)} s`,
          n(run.messages),
          n(run.sns.publishBatchRequests),
          n(run.messagesPerTenThousandUpdates),
          n(run.requestsPerTenThousandUpdates),
          run.coalesce === null
            ? '1×'
            : `${ratio(run.messages, base?.messages)}, ${ratio(run.sns.publishBatchRequests, base?.sns.publishBatchRequests)}`,
          delay(run.updateDelay),
          delay(run.messageDelay),
          `${n(run.outboxWhenWritesEnded)}, ${n(run.receivedWhenWritesEnded)}`,
          `${run.rowsWithFinalState}/${run.rows}`,
          `${run.updatesMissing} / ${run.updatesDuplicated}`,
          run.orderViolations === null ? '–' : String(run.orderViolations),
        ];
      }),
    ),
  ].join('\n');
}
