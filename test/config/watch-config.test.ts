import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBridgeConfig, loadConfig, parseBridgeConfig, parseConfig } from '../../lib/config/watch-config.ts';

describe('pgbridge.config.json', () => {
  it('normalises tables, default schema, default actions and labels into named watches', () => {
    const watches = parseConfig({
      watches: [
        { table: 'users', actions: ['update', 'insert'], columns: ['plan'], payload: ['id', 'email', 'plan'], label: 'plan_changed' },
        { table: 'shop.orders', exclude: ['card_token'] },
        { schema: 'odd.schema', table: 'a.b' },
      ],
    });
    expect(watches).toEqual([
      {
        name: 'public.users#plan_changed',
        schema: 'public',
        table: 'users',
        label: 'plan_changed',
        actions: ['insert', 'update'],
        columns: ['plan'],
        payload: ['id', 'email', 'plan'],
      },
      {
        name: 'shop.orders',
        schema: 'shop',
        table: 'orders',
        label: null,
        actions: ['insert', 'update', 'delete'],
        exclude: ['card_token'],
      },
      { name: 'odd.schema.a.b', schema: 'odd.schema', table: 'a.b', label: null, actions: ['insert', 'update', 'delete'] },
    ]);
  });

  it.each([
    [{}, /watches/],
    [{ watches: [] }, /at least one watch/],
    [{ watches: [{}] }, /watches\[0\]\.table: table is required/],
    [
      { watches: [{ table: 'users', actions: ['upsert'] }] },
      /watches\[0\] \(users\)\.actions\[0\]: "upsert" is not an action \(insert, update, delete, truncate\)/,
    ],
    [{ watches: [{ table: 'users', columns: [] }] }, /columns cannot be empty/],
    [{ watches: [{ table: 'users', payload: ['id', 'id'] }] }, /payload lists "id" twice/],
    [{ watches: [{ table: 'users', label: 'has space' }] }, /watches\[0\] \(users\)\.label/],
    [{ watches: [{ table: 'users', colums: ['plan'] }] }, /watches\[0\] \(users\).*colums/],
    [
      { watches: [{ table: 'users', capture: 'rows' }] },
      /watches\[0\] \(users\)\.capture: capture must be "row", "statement" or "wal" \(got "rows"\)/,
    ],
    [
      { watches: [{ table: 'users' }, { table: 'public.users' }] },
      /"public\.users" is declared twice \(several watches on one table need distinct labels\)/,
    ],
  ])('rejects %j with a message naming the problem', (config, message) => {
    expect(() => parseConfig(config)).toThrow(message);
  });

  it('names the bad value of every problem, not only its position', () => {
    const config = {
      watches: [
        { table: 'users', actions: ['insert', 'upsert'], label: 'plan changed' },
        { table: 42 },
        'orders',
        { table: 'orders', schema: 7, columns: ['total', 3], tabel: 'x' },
      ],
    };
    expect(() => parseConfig(config, 'pgbridge.config.json')).toThrow(
      [
        'invalid pgbridge.config.json:',
        '  - watches[0] (users).actions[1]: "upsert" is not an action (insert, update, delete, truncate)',
        '  - watches[0] (users).label: "plan changed" is not a label: use 1-64 letters, digits or _ . : - (it becomes a message attribute)',
        '  - watches[1].table: table must be a string "name" or "schema.name" (got 42)',
        '  - watches[2]: a watch is an object such as { "table": "users" } (got "orders")',
        '  - watches[3] (orders).schema: Invalid input: expected string, received number (got 7)',
        '  - watches[3] (orders).columns[1]: a column name is a string (got 3)',
        '  - watches[3] (orders): unknown field "tabel" (a watch has table, schema, actions, columns, payload, exclude, when, coalesce, capture, label)',
      ].join('\n'),
    );
  });

  it('reads "retention" as whole days beside the watches, and keeps nothing without it', () => {
    expect(parseBridgeConfig({ retention: '7d', watches: [{ table: 'users' }] }).retentionDays).toBe(7);
    expect(parseBridgeConfig({ watches: [{ table: 'users' }] }).retentionDays).toBeNull();
  });

  it.each([
    ['7 days', /retention: "7 days" is not a retention: use a number of days from "1d" to "3650d", such as "7d"/],
    ['0d', /retention: "0d" is not a retention/],
    ['12h', /retention: "12h" is not a retention/],
    [7, /retention: retention must be a number of days such as "7d" \(got 7\)/],
    ['4000d', /retention of 4000 days is more than 3650/],
  ])('rejects a retention of %j, naming the value', (retention, message) => {
    expect(() => parseBridgeConfig({ retention, watches: [{ table: 'users' }] }, 'pgbridge.config.json')).toThrow(message);
  });

  it('reads --config, then PGBRIDGE_CONFIG_JSON, then PGBRIDGE_CONFIG, and says what is wrong with the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgbridge-config-'));
    const file = join(dir, 'watches.json');
    writeFileSync(file, JSON.stringify({ watches: [{ table: 'from_file' }] }));
    const inline = JSON.stringify({ watches: [{ table: 'from_env' }] });
    expect(loadConfig({ path: file, env: { PGBRIDGE_CONFIG_JSON: inline } })[0]!.table).toBe('from_file');
    expect(loadConfig({ env: { PGBRIDGE_CONFIG_JSON: inline, PGBRIDGE_CONFIG: file } })[0]!.table).toBe('from_env');
    expect(loadConfig({ env: { PGBRIDGE_CONFIG: file } })[0]!.table).toBe('from_file');
    expect(
      loadBridgeConfig({ env: { PGBRIDGE_CONFIG_JSON: JSON.stringify({ watches: [{ table: 'kept' }], retention: '3d' }) } }).retentionDays,
    ).toBe(3);

    writeFileSync(file, '{ "watches": [ { "table": "users", } ] }');
    expect(() => loadConfig({ path: file, env: {} })).toThrow(/invalid .*watches\.json: not valid JSON/);
    expect(() => loadConfig({ path: join(dir, 'missing.json'), env: {} })).toThrow(/cannot read config .*missing\.json: file not found/);
  });
});
