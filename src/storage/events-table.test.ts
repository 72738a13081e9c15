import { describe, expect, it } from 'vitest';
import { toDateTime64 } from './events-table.js';

describe('toDateTime64', () => {
  it('writes epoch milliseconds as DateTime64(3) text in UTC', () => {
    expect(toDateTime64(Date.parse('2024-02-29T23:59:59.123Z'))).toBe('2024-02-29 23:59:59.123');
    expect(toDateTime64(0)).toBe('1970-01-01 00:00:00.000');
  });
});
