import { CommanderError } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { startBenchEnvironment } from '../bench-environment.ts';
import { renderSoak } from './soak-report.ts';
import type { SoakResults } from './soak-run.ts';
import { runSoak } from './soak-run.ts';
import { readSoakSettings } from './soak-settings.ts';

/**
 * `npm run soak`: one sustained or one outage run. bench/soak-results.json keeps the latest run
 * of each mode, so a sustained run and an outage run end up side by side in soak-results.md.
 */
let settings: ReturnType<typeof readSoakSettings>;
try {
  settings = readSoakSettings(process.argv.slice(2));
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  throw error;
}
const progress = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const env = await startBenchEnvironment(process.env);
progress(`Postgres ${env.postgresVersion}, SNS/SQS at ${env.endpoint}`);
try {
  const results = await runSoak(env, settings, progress);
  const jsonPath = new URL('../soak-results.json', import.meta.url);
  const kept: Partial<Record<SoakResults['mode'], SoakResults>> = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : {};
  kept[results.mode] = results;
  writeFileSync(jsonPath, `${JSON.stringify(kept, null, 2)}\n`);
  const report = `${[kept.sustained, kept.outage]
    .filter((run) => run !== undefined)
    .map((run) => renderSoak(run))
    .join('\n')}\n`;
  writeFileSync(new URL('../soak-results.md', import.meta.url), report);
  process.stdout.write(renderSoak(results));
  progress('written: bench/soak-results.md, bench/soak-results.json');
} finally {
  await env.stop();
}
