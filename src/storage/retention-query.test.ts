import { describe, expect, it } from 'vitest';
import { periodStart, periodsOf } from './retention-query.js';

const at = (text: string) => Date.parse(text);

describe('retention periods', () => {
  it('starts a week on Monday, UTC', () => {
    // 2026-03-05 is a Thursday; its week starts Monday 2026-03-02.
    expect(periodStart(at('2026-03-05T13:00:00Z'), 'week')).toBe(at('2026-03-02T00:00:00Z'));
    expect(periodStart(at('2026-03-02T00:00:00Z'), 'week')).toBe(at('2026-03-02T00:00:00Z'));
    expect(periodStart(at('2026-03-08T23:59:59.999Z'), 'week')).toBe(at('2026-03-02T00:00:00Z'));
    expect(periodStart(at('2026-03-05T13:00:00Z'), 'day')).toBe(at('2026-03-05T00:00:00Z'));
  });

  it('counts the periods a range touches, partial ones included', () => {
    expect(periodsOf({ from: at('2026-03-01T00:00:00Z'), to: at('2026-03-02T00:00:00Z') }, 'day')).toBe(1);
    expect(periodsOf({ from: at('2026-03-01T12:00:00Z'), to: at('2026-03-02T12:00:00Z') }, 'day')).toBe(2);
    expect(periodsOf({ from: at('2026-01-01T00:00:00Z'), to: at('2026-01-08T00:00:00Z') }, 'week')).toBe(2);
    expect(periodsOf({ from: at('2026-03-02T00:00:00Z'), to: at('2026-03-16T00:00:00Z') }, 'week')).toBe(2);
  });
});
