/**
 * `npm run chaos`: fault injection with real components. Prints one table row per scenario
 * (written, delivered, lost, duplicated, time to recover) and writes test/chaos/results.json.
 * `npm run chaos -- --quick` runs the small sizes used by `npm test`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chaosPlan, runScenario } from './chaos-plan.ts';
import type { ScenarioResult } from './scenario-result.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const size = process.argv.includes('--quick') ? 'quick' : 'full';
const results: ScenarioResult[] = [];
for (const scenario of chaosPlan(size)) {
  const result = await runScenario(scenario);
  results.push(result);
  console.error(`done: ${result.scenario}: lost ${result.lost}`);
}

const rows = results.map(
  (result) =>
    `| ${result.scenario} | ${result.written} | ${result.delivered} | ${result.lost} | ${result.duplicated} | ${result.recoverMs === null ? 'never' : `${(result.recoverMs / 1000).toFixed(1)} s`} | ${result.violations} | ${result.notes} |`,
);
console.log(
  [
    '| scenario | written | delivered | lost | duplicated | recovered in | violations | notes |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n'),
);
const output = fileURLToPath(new URL('results.json', import.meta.url));
writeFileSync(output, `${JSON.stringify({ size, at: new Date().toISOString(), results }, null, 2)}\n`);
console.log(`\nwritten to ${output}`);
process.exit(results.every((result) => result.lost === 0 && result.violations === 0) ? 0 : 1);
