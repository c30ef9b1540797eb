import type { BackfillSummary } from '../../lib/backfill/backfill-status.ts';
import type { BridgeStatus, CaptureSlotStatus, WatchState, WatchStatus } from '../../lib/capture/bridge-status.ts';
import { backfillTable } from './backfill-table.ts';

/** What to do about a watch that is not plainly installed. */
const ADVICE: Record<WatchState, string | undefined> = {
  installed: undefined,
  'not installed': 'run `pgbridge install`',
  'no such table': 'the config names a table this database does not have: create it (migrations not run yet?) or fix the config',
  'out of date': 'the config changed since install: run `pgbridge install`',
  'trigger missing': 'its trigger was dropped: run `pgbridge install`',
  'not in config': 'removed from the config: `pgbridge install` drops its trigger',
  'table dropped': 'its events stopped: fix the config and run `pgbridge install`',
  'table renamed': 'events still carry the old name: fix the config and run `pgbridge install`',
};

/** `install` leaves a watch alone while any of its triggers is left (it would lock the table for nothing). */
const PARTLY_DROPPED = "drop the watch's remaining trigger on the table, then run `pgbridge install`";

/** `pgbridge status` for a person: a few lines, then one row per watch. */
export function statusReport(status: BridgeStatus): string {
  const lines: string[] = [];
  const leader = status.listeners.find((session) => session.leader);
  const standbys = status.listeners.filter((session) => !session.leader);
  lines.push(
    `leader      ${
      leader
        ? `${leader.process ?? 'a session that is no pgbridge listener'}${leader.since ? ` since ${leader.since}` : ''} (backend pid ${leader.backendPid}${leader.clientAddr ? `, ${leader.clientAddr}` : ''})`
        : 'none: no listener holds the leader lock, events wait in the outbox'
    }`,
  );
  if (standbys.length > 0)
    lines.push(`standbys    ${standbys.map((session) => session.process ?? `backend pid ${session.backendPid}`).join(', ')}`);
  lines.push(`asleep      ${asleep(status)}`);
  lines.push(`waiting     ${status.waiting} event(s)${status.oldestAgeSeconds === null ? '' : `, oldest ${age(status.oldestAgeSeconds)}`}`);
  lines.push(`published   ${status.publishedLastMinute} in the last minute`);
  lines.push(`parked      ${status.parked}${status.parked > 0 ? ' (`pgbridge parked list` shows why)' : ''}`);
  lines.push(`backfills   ${backfillCounts(status.backfills)}`);
  if (status.captureSlot) lines.push(`wal slot    ${slotLine(status.captureSlot)}`);
  lines.push('');
  lines.push(...watchTable(status.watches));
  if (status.backfills && status.backfills.length > 0)
    lines.push('', ...backfillTable(status.backfills), ...backfillAdvice(status.backfills));
  if (!status.comparedWithConfig) lines.push('(no config read: watches not compared with it; pass --config)');
  return lines.join('\n');
}

function slotLine(slot: CaptureSlotStatus): string {
  if (!slot.exists)
    return `${slot.name} is missing: "capture": "wal" watches capture nothing; run \`pgbridge install\` as a role with the REPLICATION attribute`;
  const mb = (bytes: number | null) => `${((bytes ?? 0) / 2 ** 20).toFixed(1)} MB`;
  const lost =
    slot.walStatus === 'lost'
      ? '; LOST: max_slot_wal_keep_size was exceeded and changes are gone (drop the slot, run `pgbridge install`, then `pgbridge backfill`)'
      : '';
  return `${slot.name}: ${mb(slot.unconfirmedBytes)} of WAL not yet confirmed, ${mb(slot.retainedBytes)} kept on disk${slot.walStatus ? ` (${slot.walStatus})` : ''}${lost}`;
}

function backfillCounts(backfills: BackfillSummary[] | null): string {
  if (backfills === null) return 'not shown: this role may not read pgbridge.backfill (GRANT SELECT ON pgbridge.backfill to it)';
  if (backfills.length === 0) return 'none running';
  const interrupted = backfills.filter((backfill) => backfill.state === 'interrupted').length;
  const running = backfills.length - interrupted;
  return [running > 0 ? `${running} running` : [], interrupted > 0 ? `${interrupted} interrupted` : []].flat().join(', ');
}

/** An interrupted backfill waits for its user: nothing continues it on its own. */
function backfillAdvice(backfills: BackfillSummary[]): string[] {
  const interrupted = backfills.filter((backfill) => backfill.state === 'interrupted');
  if (interrupted.length === 0) return [];
  return [
    '',
    ...interrupted.map(
      (backfill) =>
        `backfill ${backfill.id} of ${backfill.watch}: interrupted after ${backfill.rowsDone} rows (its process stopped); run the same \`pgbridge backfill\` command again to continue it, or add --restart to start over`,
    ),
  ];
}

function asleep(status: BridgeStatus): string {
  const flag = status.waitingFlag;
  if (flag.state === 'clear') return 'no';
  if (flag.state === 'asleep') return 'yes, the leader waits for a notification';
  const what = 'no: a listener died asleep and left its waiting flag set (writers no longer notify)';
  return flag.cleared ? `${what}; cleared it` : `${what}; not cleared${flag.reason ? `: ${flag.reason}` : ''}`;
}

function watchTable(watches: WatchStatus[]): string[] {
  if (watches.length === 0) return ['no watches installed'];
  const rows = [
    ['watch', 'state', 'waiting', 'oldest', 'published/min'],
    ...watches.map((watch) => [
      watch.name,
      watch.state,
      String(watch.waiting),
      watch.oldestAgeSeconds === null ? '-' : age(watch.oldestAgeSeconds),
      String(watch.publishedLastMinute),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) =>
    row
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
  const advice = watches.flatMap((watch) => {
    const fix = watch.state === 'trigger missing' && watch.triggerLeft ? PARTLY_DROPPED : ADVICE[watch.state];
    if (!fix) return [];
    const detail = watch.nowNamed
      ? ` (now ${watch.nowNamed})`
      : watch.missingTriggers.length > 0
        ? ` (for ${watch.missingTriggers.join(', ')})`
        : '';
    return [`watch "${watch.name}": ${watch.state}${detail}; ${fix}`];
  });
  return advice.length > 0 ? [...table, '', ...advice] : table;
}

function age(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
