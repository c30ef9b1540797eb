/**
 * Writers' cost of capture, per mode: no capture, row-level triggers (a watch's `capture: "row"`)
 * and statement-level triggers (the default), in one server, interleaved.
 * Every workload is a pgbench script of this folder; rows/s and WAL bytes per changed row are
 * medians of the rounds. `tsx bench/capture-modes/compare.ts` (CAPTURE_ROUNDS, CAPTURE_SECONDS,
 * CAPTURE_CLIENTS, PGBENCH to point at another pgbench).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { EmbeddedPostgres } from '../../lib/local/embedded-postgres.ts';

type Mode = 'none' | 'row' | 'statement';
const MODES: Mode[] = ['none', 'row', 'statement'];

interface Workload {
  name: string;
  script: string;
  rowsPerTransaction: number;
  /** Bulk statements run once per round, on one connection, instead of for a duration. */
  once?: boolean;
}

const WORKLOADS: Workload[] = [
  { name: 'insert, 1 row', script: 'insert-one.pgbench', rowsPerTransaction: 1 },
  { name: 'update, 1 row', script: 'update-one.pgbench', rowsPerTransaction: 1 },
  { name: '10 inserts per tx', script: 'insert-ten.pgbench', rowsPerTransaction: 10 },
  { name: 'INSERT…SELECT 1,000', script: 'insert-select-1000.pgbench', rowsPerTransaction: 1000 },
  { name: 'UPDATE 1,000 rows', script: 'update-1000.pgbench', rowsPerTransaction: 1000 },
  { name: 'INSERT…SELECT 200,000', script: 'bulk-insert.pgbench', rowsPerTransaction: 200_000, once: true },
  { name: 'UPDATE 200,000 rows', script: 'bulk-update.pgbench', rowsPerTransaction: 200_000, once: true },
];

// The bench's server settings (bench/bench-environment.ts): durability as shipped.
const POSTGRES_SETTINGS = { shared_buffers: '512MB', max_wal_size: '8GB', checkpoint_timeout: '30min', max_connections: '200' };

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got "${process.env[name]}"`);
  return value;
};
const rounds = positive('CAPTURE_ROUNDS', 3);
const seconds = positive('CAPTURE_SECONDS', 4);
const clients = positive('CAPTURE_CLIENTS', 8);
const pgbench = process.env.PGBENCH ?? '/usr/lib/postgresql/15/bin/pgbench';

const server = new EmbeddedPostgres({ settings: POSTGRES_SETTINGS });
await server.start();
// A failing query reports the problem; the connections the server then closes are no news.
process.on('uncaughtException', (error) => console.error(`after the run: ${error.message}`));
try {
  const admin = new pg.Client(server.connectionString);
  await admin.connect();
  const databases = new Map<Mode, pg.Client>();
  for (const mode of MODES) {
    await admin.query(`CREATE DATABASE capture_${mode}`);
    const client = new pg.Client(server.databaseUrl(`capture_${mode}`));
    await client.connect();
    await client.query(readFileSync(here('./schema.sql'), 'utf8'));
    if (mode !== 'none') await install(client, parseConfig({ watches: [{ table: 'items', capture: mode }] }));
    databases.set(mode, client);
  }
  const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
  await admin.end();

  const rowsPerSecond = new Map<string, number[]>();
  const walPerRow = new Map<string, number[]>();
  const record = (map: Map<string, number[]>, key: string, value: number) => map.set(key, [...(map.get(key) ?? []), value]);
  for (let round = 0; round < rounds; round++) {
    for (const workload of WORKLOADS) {
      // Rotated so that no mode always runs first (on a cold cache) or last.
      const order = MODES.map((_, index) => MODES[(index + round) % MODES.length]!);
      for (const mode of order) {
        const client = databases.get(mode)!;
        // The checkpoint comes first: the preload then writes every page it touches, so the
        // run's WAL holds no full-page images and its bytes per row are the rows' own.
        await client.query('CHECKPOINT');
        await client.query(readFileSync(here('./preload.sql'), 'utf8'));
        if (mode !== 'none') await client.query('TRUNCATE pgbridge.outbox');
        await client.query('VACUUM ANALYZE items');
        const before = (await client.query('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
        const args = workload.once ? ['-c', '1', '-t', '1'] : ['-c', String(clients), '-j', String(clients), '-T', String(seconds)];
        const output = execFileSync(
          pgbench,
          [
            '-n',
            '-M',
            'prepared',
            ...args,
            '-f',
            here(`./${workload.script}`),
            '-h',
            '127.0.0.1',
            '-p',
            String(server.port),
            '-U',
            'postgres',
            `capture_${mode}`,
          ],
          { encoding: 'utf8' },
        );
        const wal = Number((await client.query('SELECT pg_current_wal_lsn() - $1::pg_lsn AS bytes', [before])).rows[0].bytes);
        const transactions = Number(/number of transactions actually processed: (\d+)/.exec(output)![1]);
        const elapsed = workload.once
          ? Number(/latency average = ([\d.]+) ms/.exec(output)![1]) / 1000
          : transactions / Number(/tps = ([\d.]+)/.exec(output)![1]);
        const rows = transactions * workload.rowsPerTransaction;
        record(rowsPerSecond, `${workload.name}/${mode}`, rows / elapsed);
        record(walPerRow, `${workload.name}/${mode}`, wal / rows);
      }
    }
    console.error(
      `round ${round + 1}/${rounds} done, load ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    );
  }
  for (const client of databases.values()) await client.end();

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const cell = (map: Map<string, number[]>, workload: Workload, mode: Mode) => median(map.get(`${workload.name}/${mode}`)!);
  console.log(`PostgreSQL ${version}, ${clients} clients (bulk: 1), ${seconds} s per run, median of ${rounds} rounds`);
  console.log('| workload | none rows/s | row-level | statement-level | WAL B/row none / row / statement |');
  console.log('|---|---|---|---|---|');
  for (const workload of WORKLOADS) {
    const none = cell(rowsPerSecond, workload, 'none');
    const ratio = (mode: Mode) =>
      `${Math.round(cell(rowsPerSecond, workload, mode))} (${(cell(rowsPerSecond, workload, mode) / none).toFixed(2)} ×)`;
    const wal = MODES.map((mode) => Math.round(cell(walPerRow, workload, mode))).join(' / ');
    console.log(`| ${workload.name} | ${Math.round(none)} | ${ratio('row')} | ${ratio('statement')} | ${wal} |`);
  }
  console.log(
    `load average at the end: ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await server.destroy();
}
