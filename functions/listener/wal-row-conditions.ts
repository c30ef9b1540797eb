import type pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import type { Logger } from '../../lib/logger.ts';
import { imageJson, type WalChange } from '../../lib/wal/wal-changes.ts';
import type { WalWatch } from '../../lib/wal/wal-events.ts';
import { statementRefused } from './statement-refused.ts';

/** Pairs of images evaluated per query: bounds the query's size for a transaction of many rows. */
const PAIRS_PER_QUERY = 2_000;

/** SQLSTATE class of data exceptions (division by zero, invalid text, ...): raised by a row's values. */
const DATA_EXCEPTION = '22';

/**
 * The changes for which the watch's `when` does not hold, as its trigger's WHEN would have kept
 * them out. Postgres evaluates the condition (pgbridge.wal_row_conditions) on the images pgoutput
 * sent, so it means what it means in a trigger.
 *
 * A change the condition cannot be evaluated for is kept, and sent, with an error logged, rather
 * than dropped unseen: an update or delete whose WAL record lacks the full old row (the table's
 * replica identity was changed from FULL), rows whose values make the condition raise (those
 * found one by one), or a whole batch when Postgres refuses the query itself (the condition
 * names a column since renamed or dropped, the listener's role may not use the table's schema).
 */
export async function failingRowConditions(
  client: pg.ClientBase,
  watch: WalWatch,
  changes: WalChange[],
  log: Logger,
): Promise<Set<WalChange>> {
  const failing = new Set<WalChange>();
  const unevaluated: { count: number; reason?: string } = { count: 0 };
  const notEvaluated = (count: number, reason: string) => {
    unevaluated.count += count;
    unevaluated.reason ??= reason;
  };
  const candidates: { change: WalChange; pair: string }[] = [];
  for (const change of changes) {
    if (change.action !== 'insert' && (!change.oldRow || change.oldIsKeyOnly)) {
      notEvaluated(1, 'the WAL record has no full old row (is the table still REPLICA IDENTITY FULL?)');
      continue;
    }
    const images = [
      change.newRow && `"new":${imageJson(change.relation, change.newRow, change.oldRow)}`,
      change.oldRow && `"old":${imageJson(change.relation, change.oldRow)}`,
    ];
    candidates.push({ change, pair: `{${images.filter(Boolean).join(',')}}` });
  }
  for (let start = 0; start < candidates.length; start += PAIRS_PER_QUERY) {
    const part = candidates.slice(start, start + PAIRS_PER_QUERY);
    let results: boolean[] | undefined;
    try {
      results = await evaluate(client, watch, part);
    } catch (error) {
      if (!statementRefused(error)) throw error;
      if (!error.code.startsWith(DATA_EXCEPTION)) {
        notEvaluated(part.length, error.message);
        continue;
      }
      // A row whose values make the condition raise fails the whole query: find it, keep the others' answers.
      results = [];
      for (const candidate of part) {
        try {
          results.push(...(await evaluate(client, watch, [candidate])));
        } catch (rowError) {
          if (!statementRefused(rowError)) throw rowError;
          notEvaluated(1, rowError.message);
          results.push(true);
        }
      }
    }
    part.forEach((candidate, position) => {
      if (!results[position]) failing.add(candidate.change);
    });
  }
  if (unevaluated.count > 0)
    log.error({
      msg: 'the "when" of a WAL watch could not be evaluated for some changes; they are sent',
      watch: watch.name,
      changes: unevaluated.count,
      error: unevaluated.reason,
    });
  return failing;
}

async function evaluate(client: pg.ClientBase, watch: WalWatch, part: { pair: string }[]): Promise<boolean[]> {
  const { rows } = await client.query<{ pair: string; passes: boolean }>(statement('wal/row-conditions'), [
    watch.name,
    `[${part.map((candidate) => candidate.pair).join(',')}]`,
  ]);
  const passes = part.map(() => true);
  for (const row of rows) passes[Number(row.pair) - 1] = row.passes;
  return passes;
}
