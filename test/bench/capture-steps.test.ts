import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSteps, type InstalledTrigger, installStep } from '../../bench/profile/capture-steps.ts';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';

// The capture profile measures steps rebuilt from whatever capture pgbridge installed: each step
// must do what its title says on real Postgres, or the breakdown would measure something else.

const sql = (path: string) => readFileSync(new URL(`../../bench/${path}`, import.meta.url), 'utf8');

let db: TestDatabase;
let client: pg.Client;
let installed: InstalledTrigger[];

beforeAll(async () => {
  db = await startTestDatabase();
  client = new pg.Client(db.url);
  await client.connect();
  await client.query(sql('bench-schema.sql'));
  await install(client, parseConfig({ watches: [{ table: 'bench.items' }] }));
  installed = (await client.query(sql('profile/installed-capture.sql'))).rows.map((row) => ({
    triggerName: row.trigger_name,
    triggerSql: row.trigger_sql,
    functionSignature: row.function_signature,
    functionSql: row.function_sql,
    functionBody: row.function_body,
  }));
  await client.query(sql('profile/profile-schema.sql'));
});

afterAll(async () => {
  await client?.end();
  await db?.stop();
});

/** Writes 3 inserts and 2 real updates on the profile's table, returns the events they left in the outbox. */
async function eventsOfSomeChanges(): Promise<{ action: string; row_data: { note: string } }[]> {
  await client.query('TRUNCATE pgbridge.outbox, bench_profile.items');
  await client.query(`INSERT INTO bench_profile.items (id, sent_at, note) SELECT g, 0, 'first' FROM generate_series(1, 3) AS g`);
  await client.query(`UPDATE bench_profile.items SET note = 'second' WHERE id <= 2`);
  return (await client.query('SELECT action, row_data FROM pgbridge.outbox ORDER BY id')).rows;
}

describe('capture profile steps', () => {
  it('are all derived from the capture installed on bench.items, its triggers copied to the profile table', async () => {
    const steps = deriveSteps(installed);
    expect(steps.map((step) => [step.name, step.notDerived])).toEqual([
      ['no-trigger', undefined],
      ['empty-trigger', undefined],
      ['row-json', undefined],
      ['outbox-insert', undefined],
      ['capture', undefined],
    ]);
    await installStep(client, steps.at(-1)!);
    const { rows } = await client.query(
      `SELECT pg_get_triggerdef(oid) AS definition FROM pg_trigger WHERE tgrelid = 'bench_profile.items'::regclass AND NOT tgisinternal ORDER BY tgname`,
    );
    expect(rows.map((row) => row.definition.replace(/bench_profile\.\w+\(\)/, 'f()'))).toEqual(
      installed.map((trigger) =>
        trigger.triggerSql.replace(' ON bench.items ', ' ON bench_profile.items ').replace(/pgbridge\.\w+\(\)/, 'f()'),
      ),
    );
  });

  it('write no event up to building it, and the same events as pgbridge from the outbox INSERT on', async () => {
    const written: Record<string, string[]> = {};
    for (const step of deriveSteps(installed)) {
      expect(step.notDerived).toBeUndefined();
      await installStep(client, step);
      written[step.name] = (await eventsOfSomeChanges()).map((event) => `${event.action} ${event.row_data.note}`);
    }
    const events = ['insert first', 'insert first', 'insert first', 'update second', 'update second'];
    expect(written).toEqual({ 'no-trigger': [], 'empty-trigger': [], 'row-json': [], 'outbox-insert': events, capture: events });
  });

  it('read the waiting flag only in the last step, and build the row JSON from the row-json step on', () => {
    const stepSql = (name: string) => deriveSteps(installed).find((step) => step.name === name)!.sql!;
    expect(stepSql('capture')).toContain('pgbridge.listener_state');
    expect(stepSql('outbox-insert')).not.toContain('pgbridge.listener_state');
    expect(stepSql('row-json')).toMatch(/PERFORM ROW\([^;]*row_to_json\(NEW\)/);
    expect(stepSql('empty-trigger')).not.toContain('row_to_json');
  });

  it('are reported as not derived, naming the function, when its outbox write has another shape', () => {
    const [trigger] = installed;
    const copying = {
      ...trigger!,
      functionBody: trigger!.functionBody.replace(/INSERT INTO pgbridge\.outbox/g, 'MERGE INTO pgbridge.outbox'),
    };
    const rowJson = deriveSteps([copying]).find((step) => step.name === 'row-json')!;
    expect(rowJson.sql).toBeUndefined();
    expect(rowJson.notDerived).toContain(`${trigger!.functionSignature} writes the outbox other than by INSERT`);
  });
});
