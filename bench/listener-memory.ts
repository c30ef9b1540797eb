import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { AwsResources } from '../lib/local/aws-resources.ts';
import { EmbeddedPostgres } from '../lib/local/embedded-postgres.ts';
import { BENCH_CONFIG } from './bench-environment.ts';
import { ConsumerQueue } from './measure/consumer-queue.ts';
import { buildListenerBundles } from './processes/listener-bundles.ts';
import { NicedProcess } from './processes/niced-process.ts';

// `node --import tsx bench/listener-memory.ts [bundle.mjs=sqlDir ...]`: the listener's peak RSS
// and catch-up time on the same backlog, for this tree's bundle or for bundles built from other
// commits (each with its own sql/), so one run tells what a change costs in memory. Every bundle
// gets a database of its own and installs its own schema there; rounds are interleaved so a busy
// moment of the machine does not land on one bundle alone. BENCH_BACKLOG (default 200,000),
// BENCH_ROUNDS (default 3), BENCH_FIFO=true, BENCH_LISTENER_NODE_FLAGS as in the benchmark, or
// several flag sets separated by `|` to run every bundle with each.

interface Candidate {
  name: string;
  flags: string[];
  bundle: string;
  sqlDir: string;
  databaseUrl: string;
}

interface Run {
  name: string;
  round: number;
  idleRssMb: number;
  seconds: number;
  eventsPerSecond: number;
  cpuSeconds: number;
  peakRssMb: number;
}

const events = Number(process.env.BENCH_BACKLOG ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const fifo = process.env.BENCH_FIFO === 'true';
const flagSets = (process.env.BENCH_LISTENER_NODE_FLAGS ?? '--max-semi-space-size=8 --heap-growing-percent=100')
  .split('|')
  .map((set) => set.split(' ').filter(Boolean));
const progress = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const server = new EmbeddedPostgres({ settings: { shared_buffers: '512MB', max_wal_size: '8GB', checkpoint_timeout: '30min' } });
await server.start();
const emulator = new NicedProcess('emulator', ['--import', 'tsx', 'bench/processes/emulator-main.ts'], {});
const endpoint = JSON.parse(await emulator.waitForLine(/"endpoint"/)).endpoint as string;
const resources = new AwsResources(endpoint);
const admin = new pg.Client({ connectionString: server.connectionString });
await admin.connect();
try {
  const suffix = `${Date.now().toString(36)}${fifo ? '.fifo' : ''}`;
  const topic = await resources.createTopic(`memory-${suffix}`);
  const queue = new ConsumerQueue(resources.sqs, (await resources.subscribeQueue(topic, `memory-consumer-${suffix}`)).url);
  const candidates = await prepareCandidates(process.argv.slice(2));
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const candidate of candidates) {
      const run = { name: candidate.name, round, ...(await drainBacklog(candidate, topic, queue)) };
      runs.push(run);
      process.stdout.write(`${JSON.stringify(run)}\n`);
      progress(
        `${candidate.name} round ${round}: idle RSS ${run.idleRssMb.toFixed(0)} MB, ${events} events in ${run.seconds.toFixed(1)} s (${Math.round(run.eventsPerSecond)}/s), CPU ${run.cpuSeconds.toFixed(1)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB`,
      );
    }
  }
  process.stdout.write(
    `\n| bundle | idle RSS MB | peak RSS MB (median, range) | events/s | listener CPU µs/event |\n|---|---:|---:|---:|---:|\n`,
  );
  for (const { name } of candidates) {
    const mine = runs.filter((run) => run.name === name);
    const peaks = mine.map((run) => run.peakRssMb);
    process.stdout.write(
      `| ${name} | ${median(mine.map((run) => run.idleRssMb)).toFixed(0)} | ${median(peaks).toFixed(0)} (${Math.min(...peaks).toFixed(0)}–${Math.max(...peaks).toFixed(0)}) | ${Math.round(median(mine.map((run) => run.eventsPerSecond)))} | ${((median(mine.map((run) => run.cpuSeconds)) / events) * 1e6).toFixed(0)} |\n`,
    );
  }
} finally {
  resources.destroy();
  await admin.end();
  await emulator.stop();
  await server.destroy();
}

/** `path.mjs=sqlDir` arguments, or this tree's bundle; each gets its own database with the bench table. */
async function prepareCandidates(args: string[]): Promise<Candidate[]> {
  const listed =
    args.length > 0
      ? args.map((arg) => {
          const [bundle, sqlDir] = arg.split('=');
          if (!bundle || !sqlDir) throw new Error(`"${arg}": expected <listener bundle .mjs>=<its sql directory>`);
          return {
            name: bundle
              .split('/')
              .pop()!
              .replace(/\.mjs$/, ''),
            bundle,
            sqlDir,
          };
        })
      : await buildListenerBundles().then(({ pgbridge, sqlDir }) => [{ name: 'this tree', bundle: pgbridge, sqlDir }]);
  const schema = readFileSync(new URL('./bench-schema.sql', import.meta.url), 'utf8');
  const withFlags = listed.flatMap((entry) =>
    flagSets.map((flags) => ({ ...entry, flags, name: flagSets.length > 1 ? `${entry.name} ${flags.join(' ')}` : entry.name })),
  );
  return Promise.all(
    withFlags.map(async (entry, index) => {
      const database = `memory_${index}`;
      await admin.query(`CREATE DATABASE ${database}`);
      const client = new pg.Client({ connectionString: server.databaseUrl(database) });
      await client.connect();
      await client.query(schema);
      await client.end();
      return { ...entry, databaseUrl: server.databaseUrl(database) };
    }),
  );
}

/**
 * Starts the listener on an empty outbox (it installs its schema; its RSS once idle is the cost
 * of what it loaded), stops it, fills the outbox while no listener runs, and times the catch-up.
 */
async function drainBacklog(candidate: Candidate, topic: string, queue: ConsumerQueue): Promise<Omit<Run, 'name' | 'round'>> {
  const db = new pg.Client({ connectionString: candidate.databaseUrl });
  await db.connect();
  try {
    await db.query('TRUNCATE bench.items');
    const idle = startListener(candidate, topic);
    await idle.waitForLine(/"role":"leader"/);
    await db.query('TRUNCATE pgbridge.outbox');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleRssMb = residentMb(idle.pid);
    await idle.stop();

    await db.query(`INSERT INTO bench.items (sent_at, note) SELECT ${Date.now()}, 'backlog' FROM generate_series(1, ${events})`);
    await db.query('VACUUM ANALYZE pgbridge.outbox');
    await db.query('CHECKPOINT');
    await queue.purge();
    const listener = startListener(candidate, topic);
    const started = Date.now();
    const arrival = await queue.waitForCount(events, 600_000, () => listener.assertRunning());
    const result = {
      idleRssMb,
      seconds: (arrival.at - started) / 1000,
      eventsPerSecond: arrival.count / ((arrival.at - started) / 1000),
      cpuSeconds: listener.cpuSeconds(),
      peakRssMb: listener.peakRssMb(),
    };
    await listener.stop();
    await queue.purge();
    return result;
  } finally {
    await db.end();
  }
}

function startListener(candidate: Candidate, topic: string): NicedProcess {
  return new NicedProcess(`listener ${candidate.name}`, [...candidate.flags, candidate.bundle], {
    PGBRIDGE_SQL_DIR: candidate.sqlDir,
    DATABASE_URL: candidate.databaseUrl,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    PGBRIDGE_TOPIC_ARN: topic,
    PGBRIDGE_CONFIG_JSON: JSON.stringify(BENCH_CONFIG),
    PGBRIDGE_LOG_LEVEL: 'info',
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

function residentMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(join('/proc', String(pid), 'status'), 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}
