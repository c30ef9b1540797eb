import { describe, expect, it } from 'vitest';
import { ChunkPacer } from '../../lib/backfill/chunk-pacer.ts';

describe('chunk sizes follow the listener', () => {
  it('starts small, grows at most twofold while the listener keeps up, and never passes --chunk', () => {
    const pacer = new ChunkPacer(1000);
    expect(pacer.size).toBe(100);
    pacer.published(100, 10);
    expect(pacer.size).toBe(200);
    pacer.published(200, 20);
    expect(pacer.size).toBe(400);
    for (let round = 0; round < 5; round++) pacer.published(pacer.size, 1);
    expect(pacer.size).toBe(1000);
  });

  it('a slow listener gets chunks it publishes in about 100 ms, at least 10 rows', () => {
    const pacer = new ChunkPacer(1000);
    pacer.published(100, 500);
    expect(pacer.size).toBe(20);
    pacer.published(20, 10_000);
    expect(pacer.size).toBe(10);
  });

  it('--chunk below the first size is kept as it is', () => {
    expect(new ChunkPacer(4).size).toBe(4);
  });
});
