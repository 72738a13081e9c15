import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventIdOfMessageId, nameBasedUuid, newEventId } from './event-id.js';
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

describe('nameBasedUuid', () => {
  it("gives RFC 9562's v5 ids (the DNS namespace's www.example.com, as the uuid package and Python's uuid5 give it)", () => {
    expect(nameBasedUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it("sets the version and variant bits as RFC 9562 does on the hash's bytes, whatever the hash's digits there", () => {
    const namespace = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
    const sha1 = (name: string) => createHash('sha1').update(Buffer.concat([Buffer.from(namespace.replaceAll('-', ''), 'hex'), Buffer.from(name)])).digest();
    const byBytes = (bytes: Buffer) => {
      bytes[6] = (bytes[6]! & 0x0f) | 0x50;
      bytes[8] = (bytes[8]! & 0x3f) | 0x80;
      const hex = bytes.toString('hex', 0, 16);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    };
    const variants = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const name = `node-next-${i}-é✓`;
      variants.add(sha1(name).toString('hex')[16]!);
      expect(nameBasedUuid(namespace, name)).toBe(byBytes(sha1(name)));
    }
    expect(variants.size).toBe(16); // every digit the hash can have where the variant goes was seen
  });

  it('derives one event id per project and message id: a resend keeps it, another project gets another', () => {
    const messageId = 'node-next-1733000000000-743be593-7789-4b74-8078-cbcc8894c586';
    const id = eventIdOfMessageId('shop', messageId);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdOfMessageId('shop', messageId)).toBe(id);
    expect(eventIdOfMessageId('other', messageId)).not.toBe(id);
    expect(eventIdOfMessageId('shop', `${messageId}x`)).not.toBe(id);
  });
});
