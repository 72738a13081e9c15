/**
 * POST /track against the real broker and registry: every bad input gets its
 * exact status and a message naming the field and why, with nothing reaching
 * Kafka; batches are partially accepted with per-event results in order;
 * JSON, NDJSON, Segment batches and client-encoded Avro all land on Kafka in
 * the Confluent wire format, keyed by user_id.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { readRecords, recordCount, testKafka } from '../../testing/kafka.js';
import { schemaVersionType } from '../../testing/schemas.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { encodeAvroFrame } from '../serde/wire-format.js';
import type { ErrorBody } from './errors.js';
import { CONTENT_TYPES, type TrackResponse } from './track.js';

type RequestBody = string | Uint8Array | ReadableStream<Uint8Array>;

const config = isolatedConfig(inject('services'));
let api: InProcessApi;
let kafka: Kafka;
let v1Id: number;
let v2Id: number;

beforeAll(async () => {
  api = await inProcessApi(config);
  kafka = testKafka(config.kafka);
  v1Id = await api.registry.getRegistryId(api.subject, 1);
  v2Id = await api.registry.getRegistryId(api.subject, 2);
});
afterAll(async () => api?.close());

function post(body: RequestBody, contentType: string = CONTENT_TYPES.json, headers: Record<string, string> = {}) {
  // duplex: a streamed body is sent as it is read (no Content-Length).
  const init = { method: 'POST', body, headers: { 'content-type': contentType, ...headers }, duplex: 'half' };
  return api.app.request('/track', init as RequestInit);
}

const v1 = schemaVersionType(1);
const wireEvent = (schemaId: number, event: Record<string, unknown>) => encodeAvroFrame(schemaId, v1, event);
const baseV1 = {
  event_id: '0b8f6a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  project_id: 'default',
  user_id: 'wire_user',
  action: 'encoded_by_client',
  timestamp: 1_760_000_000_000,
  sent_at: null,
  received_at: 0,
  properties: { n: 1 },
  warnings: [],
};

describe('bad input', () => {
  const oversized = JSON.stringify({ user_id: 'u', action: 'a', properties: { blob: 'x'.repeat(600_000) } });
  const chunked = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new TextEncoder().encode(oversized.slice(0, 64 * 1024));
        for (let i = 0; i < 10; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
  const manyEvents = JSON.stringify(Array.from({ length: 10_001 }, () => ({ user_id: 'u', action: 'a' })));

  const requestErrors: Array<{ name: string; body: () => RequestBody; status: number; code: string; type?: string; headers?: Record<string, string> }> = [
    { name: 'malformed JSON', body: () => '{"user_id": "u", ', status: 400, code: 'invalid_json' },
    { name: 'invalid UTF-8', body: () => new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), status: 400, code: 'invalid_encoding' },
    { name: 'an array of 0 events', body: () => '[]', status: 400, code: 'empty_batch' },
    { name: 'an array of 10,001 events', body: () => manyEvents, status: 413, code: 'too_many_events' },
    { name: 'a body over the request limit', body: () => oversized, status: 413, code: 'payload_too_large' },
    { name: 'a chunked body over the limit with no Content-Length', body: chunked, status: 413, code: 'payload_too_large' },
    { name: 'one event over the event limit', body: () => JSON.stringify({ user_id: 'u', action: 'a', properties: { blob: 'x'.repeat(40_000) } }), status: 413, code: 'event_too_large' },
    { name: 'an unknown content type', body: () => 'user_id=u&action=a', status: 415, code: 'unsupported_media_type', type: 'application/x-www-form-urlencoded' },
    { name: 'a pinned version that is not a number', body: () => '{"user_id":"u","action":"a"}', status: 400, code: 'invalid_schema_version', headers: { 'x-schema-version': 'latest' } },
    { name: 'a pinned version that is not registered', body: () => '{"user_id":"u","action":"a"}', status: 400, code: 'unknown_schema_version', headers: { 'x-schema-version': '99' } },
    { name: 'wire format with a wrong magic byte', body: () => Buffer.from([1, 0, 0, 0, 1, 2, 3]), status: 400, code: 'invalid_wire_format', type: CONTENT_TYPES.wire },
    { name: 'wire format with fewer than 5 bytes', body: () => Buffer.from([0, 0, 0]), status: 400, code: 'invalid_wire_format', type: CONTENT_TYPES.wire },
    { name: 'wire format with an unknown schema id', body: () => wireEvent(987_654, baseV1), status: 400, code: 'unknown_schema', type: CONTENT_TYPES.wire },
    { name: 'wire format with a truncated body', body: () => wireEvent(v1Id, baseV1).subarray(0, 20), status: 400, code: 'invalid_avro', type: CONTENT_TYPES.wire },
  ];

  it.each(requestErrors)('$name -> $status $code', async ({ body, status, code, type, headers }) => {
    const response = await post(body(), type, headers);
    expect(response.status).toBe(status);
    const answer = (await response.json()) as ErrorBody;
    expect(answer.error.code).toBe(code);
    expect(answer.error.message.length).toBeGreaterThan(10);
  });

  const eventErrors: Array<{ name: string; event: unknown; field: string; expected?: string }> = [
    { name: 'JSON that is not an object', event: 'app_started', field: '$', expected: 'object' },
    { name: 'a missing user_id', event: { action: 'a' }, field: 'user_id', expected: 'string' },
    { name: 'an empty action', event: { user_id: 'u', action: '' }, field: 'action', expected: 'string' },
    { name: 'a numeric user_id', event: { user_id: 7, action: 'a' }, field: 'user_id', expected: 'string' },
    { name: 'an unknown top-level field', event: { user_id: 'u', action: 'a', plan: 'pro' }, field: 'plan' },
    { name: 'nested properties', event: { user_id: 'u', action: 'a', properties: { x: { y: 1 } } }, field: 'properties.x', expected: 'null | boolean | double | string' },
    { name: 'a string over its limit', event: { user_id: 'u'.repeat(300), action: 'a' }, field: 'user_id', expected: 'string' },
    { name: 'an unparseable timestamp', event: { user_id: 'u', action: 'a', timestamp: 'tomorrow' }, field: 'timestamp' },
  ];

  it.each(eventErrors)('$name -> 400 naming $field', async ({ event, field, expected }) => {
    const response = await post(JSON.stringify(event));
    expect(response.status).toBe(400);
    const answer = (await response.json()) as TrackResponse;
    expect(answer).toMatchObject({ accepted: 0, refused: 1, error: { code: 'invalid_event' } });
    const [result] = answer.results;
    expect(result).toMatchObject({ index: 0, status: 'refused' });
    expect(result!.status === 'refused' && result!.errors).toContainEqual(
      expect.objectContaining({ field, ...(expected ? { expected } : {}), problem: expect.any(String) }),
    );
  });

  it('a batch where every event is refused -> 400 with each result', async () => {
    const response = await post(JSON.stringify([{ action: 'a' }, { user_id: 'u' }]));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ accepted: 0, refused: 2, error: { code: 'invalid_events' } });
  });

  it('let nothing reach Kafka', async () => {
    expect(await recordCount(kafka, config.kafka.eventsTopic)).toBe(0);
  });
});

describe('accepted events', () => {
  it('a batch is partially accepted: 207 with every result in order, only the good ones on Kafka', async () => {
    const response = await post(
      JSON.stringify([
        { user_id: 'batch_a', action: 'first' },
        { user_id: 'batch_b', action: '' },
        { user_id: 'batch_c', action: 'third', properties: { plan: 'pro', seats: 3 } },
      ]),
    );
    expect(response.status).toBe(207);
    const answer = (await response.json()) as TrackResponse;
    expect(answer).toMatchObject({
      accepted: 2,
      refused: 1,
      results: [
        { index: 0, status: 'accepted', schema_id: v2Id },
        { index: 1, status: 'refused', errors: [{ field: 'action', code: 'empty', expected: 'string', problem: 'must not be empty' }] },
        { index: 2, status: 'accepted', schema_id: v2Id },
      ],
    });
    const records = await readRecords(kafka, config.kafka.eventsTopic, 2);
    expect(records.map((r) => r.key).sort()).toEqual(['batch_a', 'batch_c']);
    for (const record of records) {
      const result = answer.results.find((r) => r.status === 'accepted' && r.partition === record.partition && r.offset === record.offset);
      expect(result, `result for ${record.key}`).toBeDefined();
      // Confluent wire format: magic byte 0, then the 4-byte big-endian schema id.
      expect(record.value[0]).toBe(0);
      expect(record.value.readInt32BE(1)).toBe(v2Id);
    }
  });

  it('NDJSON and Segment-style batches are accepted: 202', async () => {
    const ndjson = await post('{"user_id":"nd_1","action":"a"}\n{"user_id":"nd_2","action":"b"}\n', CONTENT_TYPES.ndjson);
    expect(ndjson.status).toBe(202);
    expect(await ndjson.json()).toMatchObject({ accepted: 2, refused: 0 });
    const segment = await post(JSON.stringify({ batch: [{ user_id: 'seg', action: 'a', timestamp: '2026-01-01T00:00:00Z' }], sent_at: '2026-01-01T00:00:01Z' }));
    expect(segment.status).toBe(202);
  });

  it('an event pinned to v1 may not use a v2 field; unpinned (latest, v2) it may', async () => {
    const event = JSON.stringify({ user_id: 'pin', action: 'a', session_id: 's-1' });
    const pinned = await post(event, CONTENT_TYPES.json, { 'x-schema-version': '1' });
    expect(pinned.status).toBe(400);
    expect(await pinned.json()).toMatchObject({ results: [{ errors: [{ field: 'session_id' }] }] });
    const latest = await post(event);
    expect(latest.status).toBe(202);
    expect(await latest.json()).toMatchObject({ results: [{ schema_id: v2Id }] });
    const v1Event = await post(JSON.stringify({ user_id: 'pin', action: 'b' }), CONTENT_TYPES.json, { 'x-schema-version': '1' });
    expect(await v1Event.json()).toMatchObject({ results: [{ status: 'accepted', schema_id: v1Id }] });
  });

  it('an event encoded by the client is checked against the id it carries and stamped by the server', async () => {
    const response = await post(wireEvent(v1Id, baseV1), CONTENT_TYPES.wire);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ results: [{ status: 'accepted', event_id: baseV1.event_id, schema_id: v1Id }] });
    const refused = await post(wireEvent(v1Id, { ...baseV1, user_id: '' }), CONTENT_TYPES.wire);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ results: [{ errors: [{ field: 'user_id', problem: 'must not be empty' }] }] });
  });
});

describe('request id (in process, where there is no Node response to carry it)', () => {
  it("echoes the client's id, and gives a request without a sane one a new id of its own", async () => {
    const event = JSON.stringify({ user_id: 'rid', action: 'a' });
    expect((await post(event, CONTENT_TYPES.json, { 'x-request-id': 'client-id-7' })).headers.get('x-request-id')).toBe('client-id-7');
    const replaced = (await post(event, CONTENT_TYPES.json, { 'x-request-id': 'no spaces please' })).headers.get('x-request-id');
    const generated = (await post('{', CONTENT_TYPES.json)).headers.get('x-request-id');
    // This process's random prefix, then a count.
    expect(replaced).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
    expect(generated).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
    expect(generated).not.toBe(replaced);
  });
});
