import { describe, expect, it } from 'vitest';
import { chunkByCost, urlCost } from './lookup-chunks.js';

describe('chunkByCost', () => {
  it('keeps every item, in order, in chunks within the budget', () => {
    const items = Array.from({ length: 1_000 }, (_, i) => i);
    const chunks = chunkByCost(items, () => 7, 100);
    expect(chunks.flat()).toEqual(items);
    expect(chunks.every((c) => c.length * 7 <= 100)).toBe(true);
    expect(chunks.slice(0, -1).every((c) => c.length === 14)).toBe(true);
  });

  it('puts an item dearer than the budget in a chunk of its own', () => {
    expect(chunkByCost([1, 500, 2], (n) => n, 100)).toEqual([[1], [500], [2]]);
  });

  it('makes no chunk of nothing', () => {
    expect(chunkByCost([], () => 1)).toEqual([]);
  });

  it('60,000 event ids need several lookups, each under ClickHouse’s 1 MiB URL cap', () => {
    const ids = Array.from({ length: 60_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const chunks = chunkByCost(ids, urlCost);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      const url = new URLSearchParams({ param_ids: `[${chunk.map((id) => `'${id}'`).join(',')}]` }).toString();
      expect(url.length).toBeLessThan(1024 * 1024);
    }
  });
});
