import { describe, expect, it } from 'vitest';
import { trendSource } from './trends-query.js';

describe('which table answers a trend', () => {
  it('reads the action rollups for counts and uniques, by action at most', () => {
    expect(trendSource({ granularity: '1m', measure: 'count', where: [] })).toBe('action-rollups');
    expect(trendSource({ granularity: '1d', measure: 'uniques', where: [], breakdown: { by: 'action' } })).toBe('action-rollups');
  });

  it('reads the property rollups for numeric measures at 1h and 1d', () => {
    expect(trendSource({ granularity: '1h', measure: 'p90', where: [], breakdown: { by: 'action' } })).toBe('property-rollups');
    expect(trendSource({ granularity: '1m', measure: 'sum', where: [] })).toBe('events');
  });

  it('reads raw events for anything on property values', () => {
    expect(trendSource({ granularity: '1h', measure: 'count', where: [{ name: 'plan', value: 'pro' }] })).toBe('events');
    expect(trendSource({ granularity: '1d', measure: 'avg', where: [], breakdown: { by: 'property', name: 'plan' } })).toBe('events');
  });
});
