import { describe, expect, it } from 'vitest';
import { schemaVersionType } from '../../testing/schemas.js';
import { eventIdOfMessageId } from './event-id.js';
import { BodyError } from './parse-body.js';
import { inMessageTerms, parseSegmentBatch, parseSegmentMessage, segmentEvent } from './segment-message.js';
import { validateEvent } from './validate-event.js';

const LIMITS = { maxEventBytes: 32_768, maxBatchEvents: 10_000 };
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const v3 = schemaVersionType(3);
const NOW = Date.parse('2026-12-07T05:00:00.000Z');

function mapped(message: unknown, project = 'shop', batchSentAt?: unknown) {
  const outcome = segmentEvent(message, project, batchSentAt);
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
  return outcome.event;
}

describe('Segment messages as events', () => {
  it('maps a track message: event, properties, context, a non-UUID messageId to a v5 id kept beside it', () => {
    const messageId = 'node-next-1733000000000-743be593-7789-4b74-8078-cbcc8894c586';
    const event = mapped({
      type: 'track',
      messageId,
      userId: 'u1',
      anonymousId: 'a1',
      event: 'Order Completed',
      properties: { total: 19.99 },
      context: { ip: '10.0.0.1', userAgent: 'UA', locale: 'de-DE', library: { name: '@segment/analytics-node', version: '3.1.0' }, page: { url: 'https://x/y' }, os: { name: 'ignored' } },
      integrations: { All: false },
      _metadata: { nodeVersion: '24' },
      timestamp: '2026-12-07T04:59:00.000Z',
      sentAt: '2026-12-07T04:59:30.000Z',
    });
    expect(event).toEqual({
      type: 'track',
      user_id: 'u1',
      anonymous_id: 'a1',
      action: 'Order Completed',
      event_id: eventIdOfMessageId('shop', messageId),
      message_id: messageId,
      properties: { total: 19.99 },
      context: { ip: '10.0.0.1', user_agent: 'UA', locale: 'de-DE', library: { name: '@segment/analytics-node', version: '3.1.0' }, page_url: 'https://x/y' },
      timestamp: '2026-12-07T04:59:00.000Z',
      sent_at: '2026-12-07T04:59:30.000Z',
    });
    const validation = validateEvent({ ...event, project_id: 'shop' }, v3, NOW);
    expect(validation.ok && validation.value.timestamp).toBe(NOW - 30_000); // corrected for sentAt
  });

  it('keeps a UUID messageId as the event id, and gives another project another id for the same text', () => {
    const uuid = '0b4f3b1c-6a0e-4c57-9b4a-2d1e8f7a6c5b';
    expect(mapped({ type: 'page', messageId: uuid, anonymousId: 'a1', name: 'Home' })).toMatchObject({ event_id: uuid, message_id: uuid, user_id: 'a1', action: '$page', name: 'Home' });
    expect(mapped({ type: 'track', messageId: 'm-1', userId: 'u', event: 'e' }, 'a').event_id).not.toBe(mapped({ type: 'track', messageId: 'm-1', userId: 'u', event: 'e' }, 'b').event_id);
  });

  it('maps identify (traits), alias (previousId as the linked id), group (groupId) and screen', () => {
    expect(mapped({ type: 'identify', userId: 'u1', anonymousId: 'a1', traits: { plan: 'pro' } })).toMatchObject({ action: '$identify', user_id: 'u1', anonymous_id: 'a1', traits: { plan: 'pro' } });
    expect(mapped({ type: 'alias', userId: 'u1', previousId: 'a9' })).toMatchObject({ action: '$alias', user_id: 'u1', anonymous_id: 'a9' });
    expect(mapped({ type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'ACME' } })).toMatchObject({ properties: { group_id: 'g1' }, traits: { name: 'ACME' } });
    expect(mapped({ type: 'screen', userId: 'u1', name: 'Settings', originalTimestamp: '2026-12-07T04:00:00Z' })).toMatchObject({ action: '$screen', name: 'Settings', timestamp: '2026-12-07T04:00:00Z' });
  });

  it.each([
    [42, '$', 'not_an_object'],
    [{ userId: 'u' }, 'type', 'missing'],
    [{ type: 'purchase', userId: 'u' }, 'type', 'unknown_type'],
    [{ type: 'track', event: 'e' }, 'userId', 'missing'],
    [{ type: 'track', userId: 'u' }, 'event', 'missing'],
    [{ type: 'alias', userId: 'u' }, 'previousId', 'missing'],
    [{ type: 'group', userId: 'u' }, 'groupId', 'missing'],
  ])('refuses %j at %s (%s)', (message, field, code) => {
    const outcome = segmentEvent(message, 'shop');
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.errors[0]).toMatchObject({ field, code });
  });

  it("names the validator's problems by the message's fields", () => {
    const event = mapped({ type: 'track', userId: 7, event: 'e', properties: { nested: { a: 1 } } });
    const validation = validateEvent(event, v3, NOW);
    expect(validation.ok).toBe(false);
    if (!validation.ok) expect(inMessageTerms(validation.errors, 'track').map((e) => e.field).sort()).toEqual(['properties.nested', 'userId']);
    expect(inMessageTerms([{ field: 'anonymous_id', code: 'empty', problem: '' }], 'alias')[0]!.field).toBe('previousId');
  });
});

describe('Segment bodies', () => {
  it('reads a batch: the batch sentAt for messages without their own, writeKey, other fields ignored', () => {
    const body = parseSegmentBatch(bytes({ batch: [{ type: 'track', userId: 'u', event: 'e' }, { type: 'page', userId: 'u', sentAt: 'own' }], sentAt: 'batch', writeKey: 'k', timestamp: 'x' }), LIMITS);
    expect(body).toMatchObject({ single: false, writeKey: 'k', sentAt: 'batch' });
    const sentAts = body.items.map((item) => ('value' in item ? mapped(item.value, 'shop', body.sentAt).sent_at : undefined));
    expect(sentAts).toEqual(['batch', 'own']);
  });

  it('refuses a body that is no batch, an empty one, one over the count, a key that is no string', () => {
    for (const [value, code] of [
      [[{ type: 'track' }], 'invalid_batch'],
      [{ batch: {} }, 'invalid_batch'],
      [{ batch: [] }, 'empty_batch'],
      [{ batch: Array.from({ length: 10_001 }, () => 1) }, 'too_many_events'],
      [{ batch: [1], writeKey: 1 }, 'invalid_write_key'],
    ] as const) {
      expect(() => parseSegmentBatch(bytes(value), LIMITS)).toThrow(expect.objectContaining({ code }) as BodyError);
    }
  });

  it("refuses a message over 32 KB alone in a batch, and a single message over it as the request's", () => {
    const big = { type: 'track', userId: 'u', event: 'e', properties: { s: 'x'.repeat(33 * 1024) } };
    const body = parseSegmentBatch(bytes({ batch: [big, { type: 'track' }] }), LIMITS);
    expect(body.items[0]).toMatchObject({ errors: [{ code: 'event_too_large' }] });
    expect(body.items[1]).toEqual({ value: { type: 'track' } });
    expect(() => parseSegmentMessage(bytes(big), 'track', LIMITS)).toThrow(expect.objectContaining({ status: 413, code: 'event_too_large' }) as BodyError);
  });

  it("gives a single message its route's type", () => {
    expect(parseSegmentMessage(bytes({ type: 'alias', userId: 'u' }), 'identify', LIMITS).items).toEqual([{ value: { type: 'identify', userId: 'u' } }]);
  });
});
