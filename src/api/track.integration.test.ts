/**
 * POST /track against the real broker and registry: the accepted event is on
 * Kafka in the Confluent wire format, keyed by user_id; every bad input gets
 * a 4xx naming the field and why, and nothing of it reaches Kafka.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { inProcessApi } from '../../testing/api-under-test.js';
import { readRecords, recordCount, testKafka } from '../../testing/kafka.js';
import { isolatedConfig } from '../../testing/test-config.js';
import type { ErrorBody } from './errors.js';

type RequestBody = string | ReadableStream<Uint8Array>;

const config = isolatedConfig(inject('services'));
let api: Awaited<ReturnType<typeof inProcessApi>>;
let kafka: Kafka;

beforeAll(async () => {
  api = await inProcessApi(config);
  kafka = testKafka(config.kafka.brokers.join(','));
});
afterAll(async () => api?.close());

function post(body: RequestBody, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  // duplex: a streamed body is sent as it is read (no Content-Length).
  return api.app.request('/track', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

describe('bad input', () => {
  const oversized = JSON.stringify({ user_id: 'u', action: 'a', properties: { blob: 'x'.repeat(1_100_000) } });
  const cases: Array<{ name: string; body: RequestBody; status: number; code: string; field?: string; headers?: Record<string, string> }> = [
    { name: 'a body that is not JSON', body: '{"user_id": "u", ', status: 400, code: 'invalid_json' },
    { name: 'JSON that is not an object', body: '"app_started"', status: 400, code: 'invalid_event', field: '$' },
    { name: 'a missing user_id', body: '{"action": "a"}', status: 400, code: 'invalid_event', field: 'user_id' },
    { name: 'an empty action', body: '{"user_id": "u", "action": ""}', status: 400, code: 'invalid_event', field: 'action' },
    { name: 'a numeric user_id', body: '{"user_id": 7, "action": "a"}', status: 400, code: 'invalid_event', field: 'user_id' },
    { name: 'nested properties', body: '{"user_id": "u", "action": "a", "properties": {"x": {"y": 1}}}', status: 400, code: 'invalid_event', field: 'properties.x' },
    { name: 'a body over 1 MB', body: oversized, status: 413, code: 'payload_too_large' },
    {
      name: 'a chunked body over 1 MB with no Content-Length',
      body: new ReadableStream({
        start(controller) {
          const chunk = new TextEncoder().encode(oversized.slice(0, 64 * 1024));
          for (let i = 0; i < 20; i++) controller.enqueue(chunk);
          controller.close();
        },
      }),
      status: 413,
      code: 'payload_too_large',
    },
    { name: 'a form content type', body: 'user_id=u&action=a', status: 415, code: 'unsupported_media_type', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  ];

  it.each(cases)('$name -> $status $code', async ({ body, status, code, field, headers }) => {
    const response = await post(body, headers);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const answer = (await response.json()) as ErrorBody;
    expect(answer.error.code).toBe(code);
    expect(answer.error.message.length).toBeGreaterThan(0);
    if (field) expect(answer.error.details?.map((d) => d.field)).toContain(field);
  });

  it('let nothing reach Kafka', async () => {
    expect(await recordCount(kafka, config.kafka.eventsTopic)).toBe(0);
  });
});

describe('an accepted event', () => {
  it('is acknowledged by Kafka, then answered 202 with its id and position', async () => {
    const response = await post(JSON.stringify({ user_id: 'wire_user', action: 'app_started', properties: { plan: 'pro', seats: 3 } }));
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { event_id: string; partition: number; offset: string };
    expect(accepted).toMatchObject({ status: 'accepted', event_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    const [record] = await readRecords(kafka, config.kafka.eventsTopic, 1);
    expect(record!.key).toBe('wire_user');
    expect(record!.partition).toBe(accepted.partition);
    expect(record!.offset).toBe(accepted.offset);
    // Confluent wire format: magic byte 0, then the 4-byte big-endian schema id.
    expect(record!.value[0]).toBe(0);
    expect(record!.value.readInt32BE(1)).toBe(api.schemaId);
    expect(await api.registry.decode(record!.value)).toMatchObject({
      event_id: accepted.event_id,
      user_id: 'wire_user',
      action: 'app_started',
      properties: { plan: 'pro', seats: 3 },
    });
  });
});
