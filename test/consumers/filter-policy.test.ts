import { describe, expect, it } from 'vitest';
import { buildFilterPolicy } from '../../lib/consumers/filter-policy.ts';

const ids = (count: number) => Array.from({ length: count }, (_, index) => index + 1);
const ONLY_FOR_AUDIT = [{ target: [{ exists: false }] }, { target: ['Audit'] }];

describe('filter policies within the SNS limits', () => {
  it('a filter with more than five keys fails at synth, naming them and what to do', () => {
    const filter = {
      table: 'shop.orders',
      action: 'update' as const,
      label: 'paid',
      body: { key: { id: [42] }, row: { status: ['paid'] } },
    };
    expect(() => buildFilterPolicy(filter, 'Audit')).toThrow(
      /^filter uses 6 keys \(table, schema, action, label, key, row\); SNS accepts at most 5 per policy: drop a condition/,
    );
    const raw = {
      raw: { id: ['1'], table: ['orders'], action: ['insert'], key: { id: [1] }, row: { total: [1] }, txid: ['7'] },
      scope: 'MessageBody' as const,
    };
    expect(() => buildFilterPolicy(raw, 'Audit')).toThrow(/^filter\.raw uses 6 keys \(id, table, action, key, row, txid\)/);
  });

  it('the target condition pgbridge adds counts as a key: five keys of the filter are one too many', () => {
    const filter = { table: 'shop.orders', action: 'update' as const, label: 'paid', body: { row: { status: ['paid'] } } };
    expect(() => buildFilterPolicy(filter, 'Audit')).toThrow(
      /^filter uses 6 keys with the target condition pgbridge adds to every policy, and action when the filter has none \(table, schema, action, label, row, target\)/,
    );
  });

  it('conditions nested under one body field count as one key', () => {
    const filter = {
      table: 'orders',
      action: 'update' as const,
      label: 'paid',
      body: { row: { status: ['paid'], currency: ['EUR'], total: [{ numeric: ['>', 100] }] } },
    };
    expect(buildFilterPolicy(filter, 'Audit').policy).toEqual({
      table: ['orders'],
      action: ['update'],
      label: ['paid'],
      row: filter.body.row,
      $or: ONLY_FOR_AUDIT,
    });
  });

  it('each $or alternative is counted as its own policy', () => {
    const raw = {
      raw: { table: ['orders'], action: ['update'], $or: [{ key: { id: [1] } }, { row: { status: ['paid'] } }] },
      scope: 'MessageBody' as const,
    };
    expect(buildFilterPolicy(raw, 'Audit').policy).toEqual({
      table: ['orders'],
      action: ['update'],
      $or: [
        { key: { id: [1] }, target: [{ exists: false }] },
        { key: { id: [1] }, target: ['Audit'] },
        { row: { status: ['paid'] }, target: [{ exists: false }] },
        { row: { status: ['paid'] }, target: ['Audit'] },
      ],
    });
    const wide = {
      raw: {
        table: ['orders'],
        action: ['update'],
        label: ['paid'],
        $or: [{ key: { id: [1] } }, { row: { total: [1] }, txid: ['7'], at: ['x'] }],
      },
      scope: 'MessageBody' as const,
    };
    expect(() => buildFilterPolicy(wide, 'Audit')).toThrow(/uses 6 keys \(table, action, label, row, txid, at\)/);
  });

  it('more than 150 value combinations fail, values nested in the body and $or alternatives included', () => {
    expect(() => buildFilterPolicy({ table: 'orders', body: { key: { id: ids(151) } } }, 'Audit')).toThrow(
      /filter allows 151 value combinations; SNS accepts at most 150/,
    );
    // The target condition is an $or of two: the filter's own combinations count twice.
    expect(buildFilterPolicy({ table: ['orders', 'refunds'], body: { key: { id: ids(37) } } }, 'Audit').scope).toBe('MessageBody');
    expect(() => buildFilterPolicy({ table: ['orders', 'refunds'], body: { key: { id: ids(38) } } }, 'Audit')).toThrow(
      /filter allows 152 value combinations with the target condition/,
    );
    const raw = {
      raw: { table: ['orders'], $or: [{ key: { id: ids(100) } }, { row: { total: ids(51) } }] },
      scope: 'MessageBody' as const,
    };
    expect(() => buildFilterPolicy(raw, 'Audit')).toThrow(/filter\.raw allows 151 value combinations/);
  });
});

describe('backfill events and targets in every policy pgbridge makes', () => {
  it('a consumer without a filter, or without action in it, gets every action but read', () => {
    expect(buildFilterPolicy(undefined, 'Audit')).toEqual({
      policy: { action: [{ 'anything-but': ['read'] }], $or: ONLY_FOR_AUDIT },
      scope: 'MessageAttributes',
    });
    expect(buildFilterPolicy({ label: 'signup' }, 'Audit').policy).toEqual({
      label: ['signup'],
      action: [{ 'anything-but': ['read'] }],
      $or: ONLY_FOR_AUDIT,
    });
  });

  it('a consumer opts in to read events by listing read; body filters keep the rules on the body', () => {
    expect(buildFilterPolicy({ table: 'users', action: ['insert', 'read'] }, 'Indexer').policy).toEqual({
      table: ['users'],
      action: ['insert', 'read'],
      $or: [{ target: [{ exists: false }] }, { target: ['Indexer'] }],
    });
    expect(buildFilterPolicy({ table: 'users', body: { row: { plan: ['pro'] } } }, 'Audit')).toEqual({
      policy: { table: ['users'], row: { plan: ['pro'] }, action: [{ 'anything-but': ['read'] }], $or: ONLY_FOR_AUDIT },
      scope: 'MessageBody',
    });
  });

  it('a filter cannot set target itself: pgbridge sets it from the consumer name', () => {
    expect(() => buildFilterPolicy({ raw: { target: ['Other'] } }, 'Audit')).toThrow(
      /^filter\.raw\.target: pgbridge sets the target condition itself, from the consumer's name; leave it out$/,
    );
    expect(() => buildFilterPolicy({ table: 'users', body: { target: ['Other'] } }, 'Audit')).toThrow(
      /^filter\.body\.target: pgbridge sets the target condition itself/,
    );
  });
});
