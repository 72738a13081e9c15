import { describe, expect, it } from 'vitest';
import { uuidv7 } from './uuid.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('lays out version 7, variant 10, and the 48-bit millisecond time first', () => {
    const at = Date.parse('2026-12-07T04:50:00.123Z');
    const id = uuidv7(at);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('keeps the random bits other than version and variant', () => {
    const ones = uuidv7(0, (b) => b.fill(0xff));
    expect(ones).toBe('00000000-0000-7fff-bfff-ffffffffffff');
    expect(uuidv7(0, (b) => b.fill(0))).toBe('00000000-0000-7000-8000-000000000000');
  });

  it('sorts by creation time and never repeats', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
