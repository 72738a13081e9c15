import { describe, expect, it } from 'vitest';
import { sinkGroups } from './sink-groups.js';

const batch = (partition: number, records: number) => ({ partition, records: Array.from({ length: records }, () => null) });

describe('sinkGroups', () => {
  it('splits a round into groups of about equal record counts, every batch once', () => {
    const round = [batch(0, 100), batch(1, 700), batch(2, 300), batch(3, 300), batch(4, 100)];
    const groups = sinkGroups(round);
    expect(groups).toHaveLength(2);
    expect(groups.flat().map((b) => b.partition).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(groups.map((g) => g.reduce((n, b) => n + b.records.length, 0)).sort()).toEqual([700, 800]);
  });

  it('makes no empty group', () => {
    expect(sinkGroups([batch(5, 10)])).toEqual([[batch(5, 10)]]);
    expect(sinkGroups([])).toEqual([]);
  });
});
