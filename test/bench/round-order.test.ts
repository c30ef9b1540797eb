import { describe, expect, it } from 'vitest';
import { cellVariants, roundOrder } from '../../bench/phases/writer-throughput.ts';

describe('the order of the variants in a round of the writers phase', () => {
  it('puts the killed-idle listener after trigger only in even rounds and before it in odd ones', () => {
    const variants = cellVariants('insert', 8);
    const trigger = variants.indexOf('pgbridge-trigger');
    expect(variants[trigger + 1]).toBe('pgbridge-killed-idle');
    expect(roundOrder(variants, 0)).toEqual(variants);
    const odd = roundOrder(variants, 1);
    expect(odd.slice(trigger, trigger + 2)).toEqual(['pgbridge-killed-idle', 'pgbridge-trigger']);
    expect([...odd].sort()).toEqual([...variants].sort());
    expect(roundOrder(variants, 2)).toEqual(variants);
  });

  it('leaves cells without the killed-idle listener as they are', () => {
    const variants = cellVariants('update', 1);
    expect(variants).not.toContain('pgbridge-killed-idle');
    expect(roundOrder(variants, 1)).toEqual(variants);
  });
});
