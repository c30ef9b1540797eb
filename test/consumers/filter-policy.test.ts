import { describe, expect, it } from 'vitest';
import { buildFilterPolicy } from '../../lib/consumers/filter-policy.ts';

const ids = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

describe('filter policies within the SNS limits', () => {
  it('a filter with more than five keys fails at synth, naming them and what to do', () => {
    const filter = { table: 'shop.orders', action: 'update' as const, label: 'paid', body: { key: { id: [42] }, row: { status: ['paid'] } } };
    expect(() => buildFilterPolicy(filter)).toThrow(/^filter uses 6 keys \(table, schema, action, label, key, row\); SNS accepts at most 5 per policy: drop a condition/);
    const raw = { raw: { id: ['1'], table: ['orders'], action: ['insert'], key: { id: [1] }, row: { total: [1] }, txid: ['7'] }, scope: 'MessageBody' as const };
    expect(() => buildFilterPolicy(raw)).toThrow(/^filter\.raw uses 6 keys \(id, table, action, key, row, txid\)/);
  });

  it('conditions nested under one body field count as one key', () => {
    const filter = { table: 'shop.orders', action: 'update' as const, label: 'paid', body: { row: { status: ['paid'], currency: ['EUR'], total: [{ numeric: ['>', 100] }] } } };
    expect(buildFilterPolicy(filter)?.policy).toEqual({ table: ['orders'], schema: ['shop'], action: ['update'], label: ['paid'], row: filter.body.row });
  });

  it('each $or alternative is counted as its own policy', () => {
    const raw = { raw: { table: ['orders'], action: ['update'], label: ['paid'], $or: [{ key: { id: [1] } }, { row: { status: ['paid'] } }] }, scope: 'MessageBody' as const };
    expect(buildFilterPolicy(raw)?.policy).toEqual(raw.raw);
    const wide = { raw: { table: ['orders'], action: ['update'], label: ['paid'], $or: [{ key: { id: [1] } }, { row: { total: [1] }, txid: ['7'], at: ['x'] }] }, scope: 'MessageBody' as const };
    expect(() => buildFilterPolicy(wide)).toThrow(/uses 6 keys \(table, action, label, row, txid, at\)/);
  });

  it('more than 150 value combinations fail, values nested in the body and $or alternatives included', () => {
    expect(() => buildFilterPolicy({ table: 'orders', body: { key: { id: ids(151) } } })).toThrow(/filter allows 151 value combinations; SNS accepts at most 150/);
    expect(buildFilterPolicy({ table: ['orders', 'refunds'], body: { key: { id: ids(75) } } })?.scope).toBe('MessageBody');
    const raw = { raw: { table: ['orders'], $or: [{ key: { id: ids(100) } }, { row: { total: ids(51) } }] }, scope: 'MessageBody' as const };
    expect(() => buildFilterPolicy(raw)).toThrow(/filter\.raw allows 151 value combinations/);
  });
});
