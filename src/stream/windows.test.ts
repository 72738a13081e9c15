import { describe, expect, it } from 'vitest';
import { describeWindow, fixedWindowsFor, hopping, minutes, seconds, session, tumbling } from './windows.js';

describe('window assignment', () => {
  it('puts an event in the one tumbling window that contains it, [start, end)', () => {
    const spec = tumbling(minutes(1));
    expect(fixedWindowsFor(spec, seconds(59.999))).toEqual([{ start: 0, end: 60_000 }]);
    expect(fixedWindowsFor(spec, seconds(60))).toEqual([{ start: 60_000, end: 120_000 }]);
    expect(fixedWindowsFor(spec, -1)).toEqual([{ start: -60_000, end: 0 }]);
  });

  it('puts an event in size/advance hopping windows, oldest first', () => {
    const spec = hopping(minutes(1), seconds(20));
    expect(fixedWindowsFor(spec, seconds(65))).toEqual([
      { start: 20_000, end: 80_000 },
      { start: 40_000, end: 100_000 },
      { start: 60_000, end: 120_000 },
    ]);
    expect(fixedWindowsFor(spec, seconds(60))).toHaveLength(3);
  });

  it('refuses sizes that are not positive and hops that skip time', () => {
    expect(() => tumbling(0)).toThrow(RangeError);
    expect(() => session(-1)).toThrow('gap must be a positive whole number of milliseconds, got -1');
    expect(() => hopping(seconds(10), seconds(20))).toThrow('advance (20000) must not exceed size (10000)');
  });

  it('describes windows in words', () => {
    expect(describeWindow(tumbling(minutes(1)))).toBe('tumbling 1m');
    expect(describeWindow(hopping(minutes(5), seconds(30)))).toBe('hopping 5m every 30s');
    expect(describeWindow(session(minutes(30)))).toBe('session, gap 30m');
  });
});
