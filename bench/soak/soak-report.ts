import { n, table } from '../report/markdown-table.ts';
import type { OutageSummary } from './outage-summary.ts';
import type { SoakResults } from './soak-run.ts';
import { KEPT_UP_RULE, STOPPED_GROWING_RULE, type SustainedVerdict, WRITER_RATIO_TARGET } from './soak-verdict.ts';

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
const yes = (met: boolean) => (met ? 'yes' : '**no**');
const loads = (averages: number[]) => averages.map((value) => value.toFixed(2)).join(' ');

/** One soak run as Markdown: its settings, a row per interval, and the verdict or the outage figures. */
export function renderSoak(results: SoakResults, heading = '###'): string {
  const { settings } = results;
  const title =
    results.mode === 'sustained'
      ? `Sustained load: ${n(settings.eventsPerSecond)} events/s for ${n(settings.seconds)} s`
      : `Listener outage: ${n(settings.eventsPerSecond)} events/s, listener killed for ${n(settings.outage!.outageSeconds)} s`;
  const out = [
    `${heading} ${title}`,
    '',
    `Started ${results.startedAt}; ${settings.writers} paced writers (single-row inserts), the bundled listener on a standard topic under \`nice\`, ` +
      `a row every ${n(settings.intervalSeconds)} s. Load average (1/5/15 min) at the start ${loads(results.loadAverage.start)}, at the end ${loads(results.loadAverage.end)}.`,
    '',
    table(
      [
        'phase',
        'at s',
        'writer tx/s',
        'writer p99 ms',
        'behind schedule ms',
        'outbox rows',
        'heap MB',
        'index MB',
        'dead tuples',
        'autovacuum runs',
        'waiting flag',
        'received',
        'drain delay p50 / p99 ms',
      ],
      results.rows.map((row) => [
        row.phase,
        n(row.atSeconds),
        n(row.writerTransactionsPerSecond),
        row.writerLatencyP99Ms.toFixed(1),
        n(row.writerMaxLagMs),
        n(row.outbox.rows),
        mb(row.outbox.heapBytes),
        mb(row.outbox.indexBytes),
        n(row.outbox.deadTuples),
        n(row.outbox.autovacuumCount),
        row.outbox.waitingFlag ? 'set' : '',
        n(row.drainDelay.count),
        `${n(row.drainDelay.p50)} / ${n(row.drainDelay.p99)}`,
      ]),
    ),
  ];
  if (results.sustained) out.push(sustainedVerdict(results.sustained));
  if (results.outage) out.push(outageFigures(results.outage, settings.eventsPerSecond));
  return out.join('\n');
}

function sustainedVerdict(verdict: SustainedVerdict): string {
  return table(
    ['target', 'measured', 'met'],
    [
      [
        `writer tx/s of the last interval ≥ ${WRITER_RATIO_TARGET} × the first`,
        `${n(verdict.lastTransactionsPerSecond)} ÷ ${n(verdict.firstTransactionsPerSecond)} = ${verdict.writerRatio.toFixed(3)}×`,
        yes(verdict.writersKeptPace),
      ],
      [
        STOPPED_GROWING_RULE,
        `last third max ${mb(verdict.lastThirdMaxBytes)} MB, middle third max ${mb(verdict.middleThirdMaxBytes)} MB`,
        yes(verdict.outboxStoppedGrowing),
      ],
      [
        KEPT_UP_RULE,
        `last third max ${n(verdict.lastThirdMaxWaiting)}, middle third max ${n(verdict.middleThirdMaxWaiting)} (dead tuples in the last third at most ${n(verdict.lastThirdMaxDeadTuples)})`,
        yes(verdict.listenerKeptUp),
      ],
    ],
  );
}

function outageFigures(outage: OutageSummary, eventsPerSecond: number): string {
  const phase = (name: keyof OutageSummary['phases']) => {
    const figures = outage.phases[name];
    return `${n(figures.transactionsPerSecond)} tx/s (commit p50 ${figures.latencyP50Ms.toFixed(1)} ms, p99 ${figures.latencyP99Ms.toFixed(1)} ms)`;
  };
  return table(
    ['measurement', 'value'],
    [
      ['writers before the outage (listener draining)', phase('before')],
      ['writers during the outage', `${phase('outage')}: ${outage.outageWriterRatio.toFixed(3)}× before`],
      [
        'waiting flag left set by the killed listener',
        outage.waitingFlagDuringOutage ? '**yes** (every writer transaction NOTIFYs)' : 'no',
      ],
      [
        'events waiting when the listener started again',
        `${n(outage.waitingAtRestart)} (written during the outage ${n(outage.writtenDuringOutage)}; rate × outage = ${n(eventsPerSecond * outage.outageSeconds)})`,
      ],
      [
        'time to drain them (from the restart, listener start-up included)',
        outage.drained ? `${outage.drainSeconds.toFixed(1)} s` : `**not drained** after ${outage.drainSeconds.toFixed(0)} s`,
      ],
      ['published during the catch-up', `${n(outage.catchUpEventsPerSecond)} events/s`],
      ['events waiting when the catch-up ended (written during it: the drain takes the oldest first)', n(outage.waitingAfterCatchUp)],
      ['writers during the catch-up', phase('catch-up')],
    ],
  );
}
