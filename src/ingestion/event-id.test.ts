import { describe, expect, it } from 'vitest';
import { newEventId } from './event-id.js';
import { isUuid } from './validate-event.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newEventId', () => {
  it('is a UUIDv7 carrying the receive time in its first 48 bits', () => {
    const at = Date.parse('2026-11-26T21:00:00.123Z');
    const id = newEventId(at);
    expect(id).toMatch(V7);
    expect(isUuid(id)).toBe(true);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
  });

  it('sorts by receive time, as text and so as ClickHouse orders UUIDs', () => {
    const ids = [0, 1, 255, 256, 65_536, Date.now(), 2 ** 47].map((t) => newEventId(t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs between ids of the same millisecond', () => {
    const at = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newEventId(at)));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id).toMatch(V7);
  });
});
