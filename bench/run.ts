import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { startBenchEnvironment } from './bench-environment.ts';
import { readBenchSettings } from './bench-settings.ts';
import { measureHostSpeed } from './measure/host-speed.ts';
import { measureBulkStatements } from './phases/bulk-statements.ts';
import { measureCaptureProfile } from './phases/capture-profile.ts';
import { measureBacklog, measureCeilings } from './phases/ceilings-and-backlog.ts';
import { measureCoalescing } from './phases/coalescing.ts';
import { measureEndToEnd } from './phases/end-to-end.ts';
import { measureSoak } from './phases/soak.ts';
import { measureWalCapture } from './phases/wal-capture.ts';
import { measureWriterThroughput } from './phases/writer-throughput.ts';
import { renderChart } from './report/chart.ts';
import type { BenchResults } from './bench-results.ts';
import { mergeIntoEarlierRun } from './merge-results.ts';
import { renderMarkdown } from './report/markdown-report.ts';

// `npm run bench [-- --quick]`: every figure of issues 4 and 12 in one run on one machine, so that the
// ratios compare like with like. Progress goes to stderr, the Markdown report to stdout.
const settings = readBenchSettings(process.argv.slice(2), process.env);
const progress = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const startedAt = Date.now();
const env = await startBenchEnvironment(process.env);
progress(`Postgres ${env.postgresVersion}, SNS/SQS at ${env.endpoint}`);
const hostSpeedAtStart = measureHostSpeed();
progress(`host speed: CPU loop ${hostSpeedAtStart.cpuMs.toFixed(0)} ms, fdatasync ${hostSpeedAtStart.fsyncUs.toFixed(0)} µs`);
try {
  let results: BenchResults = {
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      postgres: env.postgresVersion,
      emulator: process.env.AWS_ENDPOINT_URL ? process.env.AWS_ENDPOINT_URL : 'fauxqs (npm), own process under nice',
    },
    settings: { ...settings, phases: [...settings.phases] },
    writers: settings.phases.has('writers') ? await measureWriterThroughput(env, settings, progress) : [],
    bulk: settings.phases.has('bulk') ? await measureBulkStatements(env, settings, progress) : [],
    profile: settings.phases.has('profile') ? await measureCaptureProfile(env, settings, progress) : undefined,
    endToEnd:
      settings.phases.has('e2e') || settings.phases.has('delay')
        ? await measureEndToEnd(env, settings, progress)
        : { throughput: [], delays: [], peakRssMb: {} },
    ceilings: settings.phases.has('ceilings') ? await measureCeilings(env, settings, progress) : [],
    backlog: settings.phases.has('backlog') ? await measureBacklog(env, settings, progress) : [],
    coalescing: settings.phases.has('coalesce') ? await measureCoalescing(env, settings, progress) : [],
    soak: settings.phases.has('soak') ? await measureSoak(env, settings, progress) : [],
    walCapture: settings.phases.has('wal') ? await measureWalCapture(env, settings, progress) : undefined,
    durationSeconds: 0,
  };
  results.machine.hostSpeed = { start: hostSpeedAtStart, end: measureHostSpeed() };
  results.durationSeconds = (Date.now() - startedAt) / 1000;
  const resultsPath = new URL('./results.json', import.meta.url);
  if (settings.merge) {
    const earlier = JSON.parse(readFileSync(resultsPath, 'utf8')) as BenchResults;
    results = mergeIntoEarlierRun(earlier, results, settings.phases, new Date());
  }
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  const chartPath = new URL('./results.png', import.meta.url);
  writeFileSync(chartPath, renderChart(results));
  const report = renderMarkdown(results);
  writeFileSync(new URL('./results.md', import.meta.url), report);
  process.stdout.write(report);
  progress(`done in ${((Date.now() - startedAt) / 1000).toFixed(0)} s: bench/results.md, bench/results.json, bench/results.png`);
} finally {
  await env.stop();
}
