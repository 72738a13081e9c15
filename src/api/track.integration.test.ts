/**
 * POST /track against the real broker and registry: every bad input gets its
 * exact status and a message naming the field and why, with nothing reaching
 * Kafka; batches are partially accepted with per-event results in order;
 * JSON, NDJSON, Segment batches and client-encoded Avro all land on Kafka in
 * the Confluent wire format, keyed by user_id.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { createLogger } from '../logger.js';
import { eventSchemaFiles } from '../serde/event-schemas.js';
import { createApp } from './app.js';
import { ApiError } from './errors.js';
import { createApiServices } from './server.js';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { readRecords, recordCount, testKafka } from '../../testing/kafka.js';
import { schemaVersionType } from '../../testing/schemas.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { encodeAvroFrame } from '../serde/wire-format.js';
import type { ErrorBody } from './errors.js';
import type { TrackResponse } from './ingest.js';
import { CONTENT_TYPES } from './track.js';
import { varint } from '../../testing/avro-bytes.js';

type RequestBody = string | Uint8Array | ReadableStream<Uint8Array>;

const config = isolatedConfig(inject('services'));
let api: InProcessApi;
let kafka: Kafka;
let v1Id: number;
let latestId: number;
let foreignId: number;

beforeAll(async () => {
  api = await inProcessApi(config);
  kafka = testKafka(config.kafka);
  v1Id = await api.registry.getRegistryId(api.subject, 1);
  latestId = await api.registry.getLatestSchemaId(api.subject);
  // A TrackedEvent registered under another subject of the same registry.
  const variant = JSON.parse((await eventSchemaFiles())[0]!.schema) as { fields: unknown[] };
  variant.fields.push({ name: 'smuggled', type: 'string', default: '' });
  ({ id: foreignId } = await api.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(variant) }, { subject: `${api.topic}.foreign-value` }));
});
afterAll(async () => api?.close());

function post(body: RequestBody, contentType: string = CONTENT_TYPES.json, headers: Record<string, string> = {}) {
  // duplex: a streamed body is sent as it is read (no Content-Length).
  const init = { method: 'POST', body, headers: { 'content-type': contentType, ...headers }, duplex: 'half' };
  return api.app.request('/track', init as RequestInit);
}

const v1 = schemaVersionType(1);
const wireEvent = (schemaId: number, event: Record<string, unknown>) => encodeAvroFrame(schemaId, v1, event);

/** A v1 frame whose properties and warnings (the last two fields, empty: one 0 byte each) become `tail`: about 100 bytes. */
function bomb(tail: number[]): Buffer {
  const frame = wireEvent(v1Id, baseV1NoProperties());
  return Buffer.concat([frame.subarray(0, frame.length - 2), Buffer.from(tail)]);
}
const baseV1NoProperties = () => ({ ...baseV1, properties: {} });
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

  const bombs: Array<{ name: string; tail: number[] }> = [
    { name: 'a map block count of 2^50', tail: varint(2n ** 50n) },
    { name: 'an array block count of 2^31', tail: [0, ...varint(2n ** 31n)] },
    { name: 'a negative block count of -2^50', tail: [...varint(-(2n ** 50n)), ...varint(8n), 0, 0, 0, 0, 0, 0, 0, 0] },
    { name: 'a varint of 11 bytes', tail: [...Array<number>(10).fill(0x80), 1] },
  ];

  it.each(bombs)('an Avro body with $name -> 400 invalid_avro in under 50 ms, /healthz answering meanwhile', async ({ tail }) => {
    const frame = bomb(tail);
    expect(frame.length).toBeLessThan(120);
    // The schema id resolved first (registry I/O, which does not hold the event loop): what is timed is the decoding.
    expect((await post(wireEvent(v1Id, baseV1).subarray(0, 20), CONTENT_TYPES.wire)).status).toBe(400);
    const started = performance.now();
    const [response, health] = await Promise.all([post(frame, CONTENT_TYPES.wire), api.app.request('/healthz')]);
    const elapsed = performance.now() - started;
    expect(health.status).toBe(200);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error).toMatchObject({ code: 'invalid_avro', message: expect.stringMatching(/^body does not decode with schema id \d+: (properties|warnings): /) });
    expect(elapsed).toBeLessThan(50);
  });

  it('a wire event of a TrackedEvent schema registered under another subject -> 400 unknown_schema', async () => {
    const response = await post(encodeAvroFrame(foreignId, v1, baseV1), CONTENT_TYPES.wire);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error).toEqual({ code: 'unknown_schema', message: `schema id ${foreignId} is not a version of ${api.subject}` });
  });

  it.each(requestErrors)('$name -> $status $code', async ({ body, status, code, type, headers }) => {
    const response = await post(body(), type, headers);
    expect(response.status).toBe(status);
    const answer = (await response.json()) as ErrorBody;
    expect(answer.error.code).toBe(code);
    expect(answer.error.message.length).toBeGreaterThan(10);
  });

  const eventErrors: Array<{ name: string; event: unknown; field: string; expected?: string; code?: string }> = [
    { name: 'JSON that is not an object', event: 'app_started', field: '$', expected: 'object' },
    { name: 'a missing user_id', event: { action: 'a' }, field: 'user_id', expected: 'string' },
    { name: 'an empty action', event: { user_id: 'u', action: '' }, field: 'action', expected: 'string' },
    { name: 'a numeric user_id', event: { user_id: 7, action: 'a' }, field: 'user_id', expected: 'string' },
    { name: 'an unknown top-level field', event: { user_id: 'u', action: 'a', plan: 'pro' }, field: 'plan' },
    { name: 'nested properties', event: { user_id: 'u', action: 'a', properties: { x: { y: 1 } } }, field: 'properties.x', expected: 'null | boolean | double | string' },
    { name: 'a string over its limit', event: { user_id: 'u'.repeat(300), action: 'a' }, field: 'user_id', expected: 'string' },
    { name: 'an unparseable timestamp', event: { user_id: 'u', action: 'a', timestamp: 'tomorrow' }, field: 'timestamp' },
    // U+001F joins project and user in the aggregation key: this would count into project "victim".
    { name: 'a project_id holding the key separator', event: { project_id: 'victim\u001fx', user_id: 'u', action: 'a' }, field: 'project_id', code: 'invalid_characters' },
    { name: 'a user_id holding NUL', event: { user_id: 'u\u0000', action: 'a' }, field: 'user_id', code: 'invalid_characters' },
    { name: 'an action holding a newline', event: { user_id: 'u', action: 'a\nb' }, field: 'action', code: 'invalid_characters' },
    { name: 'a session_id holding a C1 control', event: { user_id: 'u', action: 'a', session_id: 's\u0085' }, field: 'session_id', code: 'invalid_characters' },
    { name: 'a property key holding DEL', event: { user_id: 'u', action: 'a', properties: { 'k\u007f': 1 } }, field: 'properties.k\u007f', code: 'invalid_characters' },
    { name: 'a write_key inside an event of an array', event: [{ user_id: 'u', action: 'a', write_key: 'k' }], field: 'write_key', code: 'unknown_field' },
  ];

  it.each(eventErrors)('$name -> 400 naming $field', async ({ event, field, expected, code }) => {
    const response = await post(JSON.stringify(event));
    expect(response.status).toBe(400);
    const answer = (await response.json()) as TrackResponse;
    expect(answer).toMatchObject({ accepted: 0, refused: 1, error: { code: Array.isArray(event) ? 'invalid_events' : 'invalid_event' } });
    const [result] = answer.results;
    expect(result).toMatchObject({ index: 0, status: 'refused' });
    expect(result!.status === 'refused' && result!.errors).toContainEqual(
      expect.objectContaining({ field, ...(expected ? { expected } : {}), ...(code ? { code } : {}), problem: expect.any(String) }),
    );
  });

  describe('hostile bodies: a quick 4xx each', () => {
    const hostile: Array<{ name: string; body: () => RequestBody; type?: string; status: number; code: string }> = [
      { name: '100,000 nested arrays', body: () => `${'['.repeat(100_000)}${']'.repeat(100_000)}`, status: 400, code: 'invalid_events' },
      { name: 'an event with 16,000 nested arrays in a property', body: () => `{"user_id":"u","action":"a","properties":{"x":${'['.repeat(16_000)}${']'.repeat(16_000)}}}`, status: 400, code: 'invalid_event' },
      { name: 'NDJSON of a million empty lines', body: () => '\n'.repeat(1_000_000), type: CONTENT_TYPES.ndjson, status: 413, code: 'payload_too_large' },
      { name: 'NDJSON of 500,000 empty lines', body: () => '\n'.repeat(500_000), type: CONTENT_TYPES.ndjson, status: 400, code: 'empty_batch' },
      {
        name: 'an event of 2,000 properties',
        body: () => JSON.stringify({ user_id: 'u', action: 'a', properties: Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`p${i}`, i])) }),
        status: 400,
        code: 'invalid_event',
      },
      {
        name: 'a batch of 15 events of 2,000 properties each',
        body: () => JSON.stringify(Array.from({ length: 15 }, () => ({ user_id: 'u', action: 'a', properties: Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`p${i}`, i])) }))),
        status: 400,
        code: 'invalid_events',
      },
      {
        name: 'a batch of 15 events of 2,500 unknown fields each',
        body: () => JSON.stringify(Array.from({ length: 15 }, () => Object.fromEntries(Array.from({ length: 2_500 }, (_, i) => [`u${i}`, 1])))),
        status: 400,
        code: 'invalid_events',
      },
      { name: 'a batch of 15 property values of 30,000 characters', body: () => JSON.stringify(Array.from({ length: 15 }, () => ({ user_id: 'u', action: 'a', properties: { s: 'x'.repeat(30_000) } }))), status: 400, code: 'invalid_events' },
      { name: 'invalid UTF-8 in an NDJSON body', body: () => new Uint8Array([0x7b, 0x7d, 0x0a, 0xed, 0xa0, 0x80]), type: CONTENT_TYPES.ndjson, status: 400, code: 'invalid_encoding' },
      // Valid JSON, but written to Avro as U+FFFD: "\ud800" and "\ud801" would be one user.
      { name: 'a lone surrogate escape in a user_id', body: () => '{"user_id":"\\ud800","action":"a"}', status: 400, code: 'invalid_event' },
    ];

    it.each(hostile)('$name -> $status $code', async ({ body, type, status, code }) => {
      const started = performance.now();
      const response = await post(body(), type);
      const elapsed = performance.now() - started;
      expect(response.status).toBe(status);
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code } });
      expect(elapsed).toBeLessThan(1_000);
      // No amplification: at most 16 problems are listed per event.
      expect(text.length).toBeLessThan(64 * 1024);
    });
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
        { index: 0, status: 'accepted', schema_id: latestId },
        { index: 1, status: 'refused', errors: [{ field: 'action', code: 'empty', expected: 'string', problem: 'must not be empty' }] },
        { index: 2, status: 'accepted', schema_id: latestId },
      ],
    });
    const records = await readRecords(kafka, config.kafka.eventsTopic, 2);
    expect(records.map((r) => r.key).sort()).toEqual(['batch_a', 'batch_c']);
    for (const record of records) {
      const result = answer.results.find((r) => r.status === 'accepted' && r.partition === record.partition && r.offset === record.offset);
      expect(result, `result for ${record.key}`).toBeDefined();
      // Confluent wire format: magic byte 0, then the 4-byte big-endian schema id.
      expect(record.value[0]).toBe(0);
      expect(record.value.readInt32BE(1)).toBe(latestId);
    }
  });

  it('NDJSON and Segment-style batches are accepted: 202', async () => {
    const ndjson = await post('{"user_id":"nd_1","action":"a"}\n{"user_id":"nd_2","action":"b"}\n', CONTENT_TYPES.ndjson);
    expect(ndjson.status).toBe(202);
    expect(await ndjson.json()).toMatchObject({ accepted: 2, refused: 0 });
    const segment = await post(JSON.stringify({ batch: [{ user_id: 'seg', action: 'a', timestamp: '2026-01-01T00:00:00Z' }], sent_at: '2026-01-01T00:00:01Z' }));
    expect(segment.status).toBe(202);
  });

  it('an event pinned to v1 may not use a v2 field; unpinned (the latest version) it may', async () => {
    const event = JSON.stringify({ user_id: 'pin', action: 'a', session_id: 's-1' });
    const pinned = await post(event, CONTENT_TYPES.json, { 'x-schema-version': '1' });
    expect(pinned.status).toBe(400);
    expect(await pinned.json()).toMatchObject({ results: [{ errors: [{ field: 'session_id' }] }] });
    const latest = await post(event);
    expect(latest.status).toBe(202);
    expect(await latest.json()).toMatchObject({ results: [{ schema_id: latestId }] });
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

describe('browsers', () => {
  it.each(['text/plain', 'text/plain;charset=UTF-8'])('a %s body (navigator.sendBeacon) is read as JSON: 202', async (type) => {
    const response = await post(JSON.stringify({ user_id: 'beacon', action: 'page_hidden' }), type);
    expect(response.status).toBe(202);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('a preflight from any origin: 204, POST with its headers allowed, cached a day, no credentials', async () => {
    const response = await api.app.request('/track', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(response.status).toBe(204);
    expect(Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-')))).toEqual({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'Content-Type, Authorization, X-Schema-Version, X-Request-Id',
      'access-control-max-age': '86400',
    });
  });

  it('answers, refusals included, carry the CORS headers a page needs to read them', async () => {
    const refused = await post('{"user_id":', 'application/json', { origin: 'https://shop.example' });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(refused.headers.get('access-control-expose-headers')).toBe('X-Request-Id, Retry-After, RateLimit, RateLimit-Policy');
    expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('write_key in the body', () => {
  // Which key it names is authentication's (keys mode: access.integration.test.ts); open mode takes the event.
  it('is taken out of a single event and of a batch wrapper, never an unknown field, and must be a string', async () => {
    const send = (body: string, type: string = CONTENT_TYPES.json) => api.app.request('/track', { method: 'POST', body, headers: { 'content-type': type } });
    expect((await send(JSON.stringify({ user_id: 'wk', action: 'a', write_key: 'wk_single' }), 'text/plain')).status).toBe(202);
    expect((await send(JSON.stringify({ batch: [{ user_id: 'wk', action: 'b' }], write_key: 'wk_batch' }))).status).toBe(202);
    const notAString = await send(JSON.stringify({ user_id: 'wk', action: 'e', write_key: 7 }));
    expect(notAString.status).toBe(400);
    expect(await notAString.json()).toEqual({ error: { code: 'invalid_write_key', message: '"write_key" must be a string, got number' } });
  });
});

describe('the past horizon, at its default', () => {
  it('refuses an event 32 days old (timestamp_too_old) and takes one 30 days old', async () => {
    // The test config sets a 10-year horizon for replayed fixtures; unset, the default applies.
    const defaults = isolatedConfig(inject('services'), { KAFKA_EVENTS_TOPIC: config.kafka.eventsTopic, API_MAX_PAST_MS: undefined });
    expect(defaults.api.maxPastMs).toBe(31 * 86_400_000);
    const services = createApiServices(defaults, createLogger('silent', 'test-api'));
    const app = createApp(defaults, services.deps);
    const day = 86_400_000;
    try {
      const response = await app.request('/track', {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPES.json },
        body: JSON.stringify([
          { user_id: 'old', action: 'a', timestamp: new Date(Date.now() - 32 * day).toISOString() },
          { user_id: 'old', action: 'b', timestamp: Date.now() - 30 * day },
        ]),
      });
      expect(response.status).toBe(207);
      expect(await response.json()).toMatchObject({
        results: [
          { status: 'refused', errors: [{ field: 'timestamp', code: 'timestamp_too_old', problem: expect.stringMatching(/is more than 2678400000 ms before the receive time/) }] },
          { status: 'accepted' },
        ],
      });
    } finally {
      await services.close();
    }
  });
});
