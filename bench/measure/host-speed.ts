import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * How fast this host is right now, on the two resources the benchmark's figures hang on: one
 * core (the publish loop, JSON, the emulator) and a synchronous disk write (every commit waits
 * for one). Shared machines change speed from hour to hour; a run reports this at its start
 * and end so that figures from a slow hour are recognised as such, not read as regressions.
 */
export interface HostSpeed {
  /** A fixed single-core workload (hashing and JSON), median of 5, ms: lower is faster. */
  cpuMs: number;
  /** Writing 8 KiB and waiting for fdatasync in the temporary directory (where the bench's Postgres keeps its data), median of 200, µs. */
  fsyncUs: number;
}

export interface HostSpeedAtEnds {
  start: HostSpeed;
  end: HostSpeed;
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function cpuWorkloadMs(): number {
  const rows = Array.from({ length: 500 }, (_, index) => ({ id: index, note: `row ${index}`, total: index * 1.5, tags: ['a', 'b'] }));
  const started = process.hrtime.bigint();
  let digest = '';
  for (let round = 0; round < 200; round++) {
    const text = JSON.stringify(rows);
    digest = createHash('sha256').update(text).update(digest).digest('hex');
    rows[round % rows.length]!.note = (JSON.parse(text) as typeof rows)[0]!.note + digest.slice(0, 1);
  }
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function fsyncLatenciesUs(writes: number): number[] {
  const directory = mkdtempSync(join(tmpdir(), 'pgbridge-fsync-probe-'));
  const block = Buffer.alloc(8192, 7);
  const fd = openSync(join(directory, 'probe'), 'w');
  try {
    const latencies: number[] = [];
    for (let index = 0; index < writes; index++) {
      const started = process.hrtime.bigint();
      writeSync(fd, block, 0, block.length, (index % 16) * block.length);
      fdatasyncSync(fd);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e3);
    }
    return latencies;
  } finally {
    closeSync(fd);
    rmSync(directory, { recursive: true, force: true });
  }
}

export function measureHostSpeed(): HostSpeed {
  cpuWorkloadMs();
  return {
    cpuMs: median(Array.from({ length: 5 }, cpuWorkloadMs)),
    fsyncUs: median(fsyncLatenciesUs(200)),
  };
}

/** Above this, start and end (or two runs) differ by more than these machines' usual noise. */
const NOTABLE_CHANGE = 1.3;

/** A sentence for the report: the figures, and a warning when the host's speed moved during the run. */
export function describeHostSpeed({ start, end }: HostSpeedAtEnds): string {
  const figures =
    `Host speed (bench/measure/host-speed.ts): a fixed CPU loop ${start.cpuMs.toFixed(0)} ms at the start, ${end.cpuMs.toFixed(0)} ms at the end; ` +
    `an 8 KiB write + fdatasync ${start.fsyncUs.toFixed(0)} µs / ${end.fsyncUs.toFixed(0)} µs (medians; lower is faster).`;
  const moved = [changeBetween('CPU loop', start.cpuMs, end.cpuMs), changeBetween('fdatasync', start.fsyncUs, end.fsyncUs)].filter(Boolean);
  if (moved.length === 0) return figures;
  return `${figures} **The host's speed changed during this run** (${moved.join('; ')}): compare ratios measured in the same round, not absolute figures.`;
}

function changeBetween(what: string, start: number, end: number): string | undefined {
  const factor = Math.max(start, end) / Math.min(start, end);
  if (!(factor > NOTABLE_CHANGE)) return undefined;
  return `${what} ${factor.toFixed(1)} × ${end > start ? 'slower' : 'faster'} at the end`;
}
