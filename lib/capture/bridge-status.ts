import type pg from 'pg';
import { listBackfills, type BackfillSummary } from '../backfill/backfill-status.ts';
import type { Watch } from '../config/watch-config.ts';
import { statement } from './sql-files.ts';

/** How an installed or configured watch stands against the database and the config. */
export type WatchState =
  | 'installed'
  | 'not installed'
  | 'no such table'
  | 'out of date'
  | 'not in config'
  | 'trigger missing'
  | 'table dropped'
  | 'table renamed';

export interface WatchStatus {
  name: string;
  schema: string;
  table: string;
  label: string | null;
  state: WatchState;
  /** The table's name now, when it was renamed since install. */
  nowNamed: string | null;
  /** Actions of the watch that no trigger captures any more (dropped by hand). */
  missingTriggers: string[];
  /** Some trigger of the watch is left: `install` keeps a watch that has one, so drop it first. */
  triggerLeft: boolean;
  waiting: number;
  /** Age of the oldest waiting event (from its writer's transaction start); null when none waits. */
  oldestAgeSeconds: number | null;
  publishedLastMinute: number;
}

export interface ListenerSession {
  /** The listener process, "pid@host", from its application_name; null for a session that set its own. */
  process: string | null;
  backendPid: number;
  /** Visible to superusers and pg_read_all_stats members only. */
  clientAddr: string | null;
  leader: boolean;
  /** When the leader took the lock. */
  since: string | null;
}

/**
 * `clear`: no listener sleeps. `asleep`: the leader sleeps until a writer notifies. `stale`: the
 * flag was left by a listener that died asleep (writers skip the NOTIFY already); `cleared`
 * tells whether this status run cleared it.
 */
export type WaitingFlag = { state: 'clear' } | { state: 'asleep' } | { state: 'stale'; cleared: boolean; reason?: string };

/** The replication slot of the `"capture": "wal"` watches. */
export interface CaptureSlotStatus {
  name: string;
  exists: boolean;
  /** A listener is reading it at this moment (it reads in short rounds, so false is no alarm on its own). */
  active: boolean;
  /** WAL the slot keeps on the server's disk, bytes; null when the slot is missing. */
  retainedBytes: number | null;
  /** WAL after the position the listener last confirmed, bytes: the changes still to publish are in there. */
  unconfirmedBytes: number | null;
  /** Postgres' wal_status: `lost` means max_slot_wal_keep_size was exceeded and changes are gone. */
  walStatus: string | null;
}

export interface BridgeStatus {
  watches: WatchStatus[];
  /** The whole outbox, events of removed watches included. */
  waiting: number;
  oldestAgeSeconds: number | null;
  publishedLastMinute: number;
  parked: number;
  /**
   * Backfills not finished, oldest first: running, or interrupted (the same command continues
   * them). Null when this role may not read pgbridge.backfill (the listener's role may not).
   */
  backfills: BackfillSummary[] | null;
  listeners: ListenerSession[];
  waitingFlag: WaitingFlag;
  /** Null without `"capture": "wal"` watches. */
  captureSlot: CaptureSlotStatus | null;
  /** Whether the watches were compared with a config. */
  comparedWithConfig: boolean;
}

const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Everything `pgbridge status` shows, read from the database; clears a stale waiting flag on the
 * way. Undefined when pgbridge is not installed. `watches`: the config to compare with.
 */
export async function readBridgeStatus(client: pg.ClientBase, watches?: Watch[]): Promise<BridgeStatus | undefined> {
  const { rows: schema } = await client.query(statement('admin/schema-exists'));
  if (!schema[0].installed) return undefined;
  const perWatch = await client.query(statement('admin/status-watches'), [watches ? JSON.stringify(watches) : null]);
  const { rows: totals } = await client.query(statement('admin/status-totals'));
  const sessions = await client.query(statement('admin/status-listeners'));
  return {
    watches: perWatch.rows.map((row) => ({
      name: row.name,
      schema: row.schema_name,
      table: row.table_name,
      label: row.label,
      state: row.state,
      nowNamed: row.now_named,
      missingTriggers: row.missing_triggers,
      triggerLeft: row.has_trigger,
      waiting: row.waiting,
      oldestAgeSeconds: row.oldest_age_seconds,
      publishedLastMinute: row.published_last_minute,
    })),
    waiting: totals[0].waiting,
    oldestAgeSeconds: totals[0].oldest_age_seconds,
    publishedLastMinute: totals[0].published_last_minute,
    parked: totals[0].parked,
    backfills: await unfinishedBackfills(client),
    listeners: sessions.rows.map((row) => ({
      process: /^pgbridge-listener (.+)$/.exec(row.application_name ?? '')?.[1] ?? null,
      backendPid: row.backend_pid,
      clientAddr: row.client_addr,
      leader: row.leader === true,
      since: row.since ? (row.since as Date).toISOString() : null,
    })),
    waitingFlag: await waitingFlag(client),
    captureSlot: await captureSlot(client),
    comparedWithConfig: watches !== undefined,
  };
}

async function captureSlot(client: pg.ClientBase): Promise<CaptureSlotStatus | null> {
  const { rows: schema } = await client.query(statement('wal/has-capture'));
  if (!schema[0].present) return null;
  const { rows } = await client.query(statement('admin/status-capture-slot'));
  const row = rows[0];
  if (!row) return null;
  const bytes = (value: string | null) => (value === null ? null : Number(value));
  return {
    name: row.slot,
    exists: row.slot_exists,
    active: row.active,
    retainedBytes: bytes(row.retained_bytes),
    unconfirmedBytes: bytes(row.unconfirmed_bytes),
    walStatus: row.wal_status,
  };
}

/** A probe running as the listener's role still gets the rest of the status. */
async function unfinishedBackfills(client: pg.ClientBase): Promise<BackfillSummary[] | null> {
  try {
    return await listBackfills(client, { unfinished: true });
  } catch (error) {
    if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    return null;
  }
}

/** `clearStale`: false on the second look, after a listener changed the flag in between. */
async function waitingFlag(client: pg.ClientBase, clearStale = true): Promise<WaitingFlag> {
  const { rows } = await client.query(statement('admin/status-waiting-flag'));
  if (!rows[0].waiting) return { state: 'clear' };
  if (rows[0].lock_held) return { state: 'asleep' };
  if (!clearStale) return { state: 'stale', cleared: false };
  try {
    const { rowCount } = await client.query(statement('admin/clear-stale-waiting-flag'));
    return rowCount === 1 ? { state: 'stale', cleared: true } : await waitingFlag(client, false);
  } catch (error) {
    if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    return { state: 'stale', cleared: false, reason: (error as Error).message };
  }
}
