import type pg from 'pg';
import { statement } from '../../lib/capture/sql-files.ts';
import type { Logger } from '../../lib/logger.ts';
import { imageJson, type WalChange } from '../../lib/wal/wal-changes.ts';
import type { WalWatch } from '../../lib/wal/wal-events.ts';
import { statementRefused } from './statement-refused.ts';

/** Pairs of images evaluated per query: bounds the query's size for a transaction of many rows. */
const PAIRS_PER_QUERY = 2_000;

/**
 * The changes (indexes into `changes`) for which the watch's `when` does not hold, as its
 * trigger's WHEN would have kept them out. Postgres evaluates the condition
 * (pgbridge.wal_row_conditions) on the images pgoutput sent, so it means what it means in a
 * trigger. Truncates and actions the watch does not take are left to `eventsOf`.
 *
 * A condition Postgres cannot evaluate for a row (it raises, or the table changed since the
 * change) keeps the row: the event is sent, with an error logged, rather than dropped unseen.
 */
export async function failingRowConditions(
  client: pg.ClientBase,
  watch: WalWatch,
  changes: WalChange[],
  log: Logger,
): Promise<Set<number>> {
  const failing = new Set<number>();
  if (watch.when === undefined) return failing;
  const candidates: { index: number; pair: string }[] = [];
  changes.forEach((change, index) => {
    if (change.relation.oid !== watch.tableOid || change.action === 'truncate' || !watch.actions.includes(change.action)) return;
    const images = [
      change.newRow && `"new":${imageJson(change.relation, change.newRow, change.oldRow)}`,
      change.oldRow && `"old":${imageJson(change.relation, change.oldRow)}`,
    ];
    candidates.push({ index, pair: `{${images.filter(Boolean).join(',')}}` });
  });
  for (let start = 0; start < candidates.length; start += PAIRS_PER_QUERY) {
    const part = candidates.slice(start, start + PAIRS_PER_QUERY);
    let results: (boolean | Error)[];
    try {
      results = await evaluate(client, watch, part);
    } catch (error) {
      if (!statementRefused(error)) throw error;
      // One row the condition raises for fails the whole query: find it, keep the others' answers.
      results = [];
      for (const candidate of part) {
        try {
          results.push(...(await evaluate(client, watch, [candidate])));
        } catch (rowError) {
          if (!statementRefused(rowError)) throw rowError;
          results.push(rowError);
        }
      }
    }
    const errors = results.filter((result): result is Error => result instanceof Error);
    if (errors.length > 0)
      log.error({
        msg: 'the "when" of a WAL watch could not be evaluated for some changes; they are sent',
        watch: watch.name,
        changes: errors.length,
        error: errors[0]!.message,
      });
    part.forEach((candidate, position) => {
      if (results[position] === false) failing.add(candidate.index);
    });
  }
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
