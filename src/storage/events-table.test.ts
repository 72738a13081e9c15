import { describe, expect, it } from 'vitest';
import { toDateTime64 } from './events-table.js';

describe('toDateTime64', () => {
  it.each([0, 1, 999, 86_399_999, 86_400_000, Date.parse('2024-02-29T23:59:59.123Z'), Date.parse('2026-11-26T07:05:03.040Z'), -1, -86_400_001, 253_402_300_799_999])(
    '%i reads as toISOString does',
    (ms) => {
      expect(toDateTime64(ms)).toBe(new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
    },
  );

  it('agrees with toISOString over a sweep of times', () => {
    for (let ms = Date.parse('2025-12-31T22:00:00Z'); ms < Date.parse('2026-01-01T02:00:00Z'); ms += 997) {
      expect(toDateTime64(ms)).toBe(new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
    }
  });
});
