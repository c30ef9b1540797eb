import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';
import { writerRate, type BenchResults } from '../bench-results.ts';
import { VARIANTS } from '../capture-variants.ts';
import { isHeadlineCell } from '../phases/end-to-end.ts';
import { isMultiRow, WRITER_VARIANTS } from '../phases/writer-throughput.ts';

const WIDTH = 1400;
// Names of their own: the writer panel's legend already toggles the variants' titles.
const MULTI_ROW_SERIES = ['trigger only (listener paused) ÷ none', 'trigger only, capture: statement ÷ none', 'listener draining ÷ none'];
const HEIGHT = 1250;

/** Multi-row and bulk statements: captured rows/s ÷ none, trigger only and draining (issue 11). */
function multiRowRatios(results: BenchResults): {
  names: string[];
  trigger: (number | null)[];
  statement: (number | null)[];
  draining: (number | null)[];
} {
  const cells = [...new Set(results.writers.filter((run) => isMultiRow(run.workload)).map((run) => `${run.workload} ×${run.writers}`))];
  const rate = (variant: Parameters<typeof writerRate>[1], key: string) => {
    const [workload, writers] = key.split(' ×') as [Parameters<typeof writerRate>[2], string];
    return writerRate(results, variant, workload, Number(writers));
  };
  const ratio = (value: number | undefined, base: number | undefined) =>
    value !== undefined && base ? Number((value / base).toFixed(2)) : null;
  const bulkStatements = [...new Set(results.bulk.map((run) => run.statement))];
  const bulk = (variant: string, statement: string) =>
    results.bulk.find((run) => run.variant === variant && run.statement === statement)?.rowsPerSecond;
  return {
    names: [...cells, ...bulkStatements.map((statement) => `bulk ${statement}`)],
    trigger: [
      ...cells.map((key) => ratio(rate('pgbridge-trigger', key), rate('none', key))),
      ...bulkStatements.map((statement) => ratio(bulk('pgbridge-trigger', statement), bulk('none', statement))),
    ],
    statement: [
      ...cells.map((key) => ratio(rate('pgbridge-trigger-statement', key), rate('none', key))),
      ...bulkStatements.map((statement) => ratio(bulk('pgbridge-trigger-statement', statement), bulk('none', statement))),
    ],
    draining: [...cells.map((key) => ratio(rate('pgbridge', key), rate('none', key))), ...bulkStatements.map(() => null)],
  };
}

/** bench/results.png: writer throughput, end-to-end throughput and delays, multi-row capture tax (echarts SSR → PNG). */
export function renderChart(results: BenchResults): Buffer {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height: HEIGHT });
  const writerKeys = [
    ...new Set(results.writers.filter((run) => !isMultiRow(run.workload)).map((run) => `${run.workload} ×${run.writers}`)),
  ];
  const multiRow = multiRowRatios(results);
  const rateSeries = (key: string) => {
    const [workload, writers] = key.split(' ×') as [Parameters<typeof writerRate>[2], string];
    return { workload, writers: Number(writers) };
  };
  const throughputBars = [
    ...results.endToEnd.throughput
      .filter(isHeadlineCell)
      .map((run) => ({ name: `e2e ${run.variant}`, value: Math.round(run.deliveredPerSecond) })),
    ...results.backlog.map((run) => ({ name: `backlog ${run.variant}`, value: Math.round(run.eventsPerSecond) })),
    ...results.ceilings.map((run) => ({
      name: `${run.kind === 'sink-sdk' ? 'sink (SDK client)' : run.kind} ceiling${run.fifo ? ' FIFO' : ''}`,
      value: Math.round(run.eventsPerSecond),
    })),
  ];
  const delayKeys = [...new Set(results.endToEnd.delays.map((run) => `${run.variant} @${run.offeredPerSecond}/s`))];
  const delayOf = (key: string, field: 'p50' | 'p99' | 'max') =>
    results.endToEnd.delays.find((run) => `${run.variant} @${run.offeredPerSecond}/s` === key)?.[field] ?? null;

  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    title: [
      { text: `pgbridge benchmark: ${results.machine.cores} cores, PostgreSQL ${results.machine.postgres}`, left: 'center', top: 5 },
      { text: 'Writer throughput (transactions/s) by workload × writers', left: 60, top: 45, textStyle: { fontSize: 14 } },
      { text: 'Events/s: end to end, backlog catch-up, ceilings', left: 60, top: 480, textStyle: { fontSize: 14 } },
      { text: 'Commit → received delay (ms, log scale)', left: 760, top: 480, textStyle: { fontSize: 14 } },
      { text: 'Multi-row statements: captured rows/s ÷ no capture', left: 60, top: 880, textStyle: { fontSize: 14 } },
    ],
    // echarts measures legend text with its own font metrics, narrower than the font resvg draws
    // with: the wide gap keeps long names from running into the next item.
    legend: [
      { top: 70, itemGap: 60, data: WRITER_VARIANTS.map((variant) => VARIANTS[variant].title) },
      { top: 505, left: 900, data: ['p50', 'p99', 'max'] },
      { top: 905, itemGap: 60, data: MULTI_ROW_SERIES },
    ],
    grid: [
      { left: 80, right: 40, top: 110, height: 320 },
      { left: 80, width: 580, top: 540, height: 250 },
      { left: 800, right: 40, top: 540, height: 250 },
      { left: 80, right: 40, top: 945, height: 250 },
    ],
    xAxis: [
      { type: 'category', gridIndex: 0, data: writerKeys },
      { type: 'category', gridIndex: 1, data: throughputBars.map((bar) => bar.name), axisLabel: { rotate: 30, fontSize: 10 } },
      { type: 'category', gridIndex: 2, data: delayKeys, axisLabel: { rotate: 20, fontSize: 10 } },
      { type: 'category', gridIndex: 3, data: multiRow.names },
    ],
    yAxis: [
      { type: 'value', gridIndex: 0, name: 'tx/s' },
      { type: 'value', gridIndex: 1, name: 'events/s' },
      { type: 'log', gridIndex: 2, name: 'ms', min: 1 },
      { type: 'value', gridIndex: 3, name: '× none', min: 0, max: 1 },
    ],
    series: [
      ...WRITER_VARIANTS.map((variant) => ({
        type: 'bar',
        name: VARIANTS[variant].title,
        xAxisIndex: 0,
        yAxisIndex: 0,
        data: writerKeys.map((key) => {
          const { workload, writers } = rateSeries(key);
          const rate = writerRate(results, variant, workload, writers);
          return rate === undefined ? null : Math.round(rate);
        }),
      })),
      {
        type: 'bar',
        name: 'events/s',
        xAxisIndex: 1,
        yAxisIndex: 1,
        data: throughputBars.map((bar) => bar.value),
        label: { show: true, position: 'top', fontSize: 10 },
      },
      ...(['p50', 'p99', 'max'] as const).map((field) => ({
        type: 'bar',
        name: field,
        xAxisIndex: 2,
        yAxisIndex: 2,
        data: delayKeys.map((key) => delayOf(key, field)),
      })),
      ...[multiRow.trigger, multiRow.statement, multiRow.draining].map((data, index) => ({
        type: 'bar',
        name: MULTI_ROW_SERIES[index],
        xAxisIndex: 3,
        yAxisIndex: 3,
        data,
        label: { show: true, position: 'top', fontSize: 10 },
      })),
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return new Resvg(svg, { fitTo: { mode: 'width', value: WIDTH }, font: { loadSystemFonts: true } }).render().asPng();
}
