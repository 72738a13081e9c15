/**
 * Clients no one here wrote: Segment's `@segment/analytics-node` and
 * RudderStack's `@rudderstack/rudder-sdk-node` (gzip bodies by default),
 * pointed at the API, send track, identify, page and alias calls with a
 * write key by HTTP Basic, flush, and every message comes back from
 * /activities with its own messageId; a resend of a batch is stored once;
 * identify and alias link the anonymous ids, which /users, /activities and
 * /stats follow. Then hostile requests against the /v1 routes, each a clear
 * 4xx, nothing stored, nothing else harmed. The real stack: API and worker
 * as processes in keys mode, Kafka, registry, ClickHouse.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ActivitiesPage } from '../src/api/activities.js';
import type { ErrorBody } from '../src/api/errors.js';
import type { SegmentResponse } from '../src/api/segment.js';
import { createKeyStore } from '../src/auth/key-store.js';
import { loadConfig } from '../src/config.js';
import { eventIdOfMessageId } from '../src/ingestion/event-id.js';
import { createClickHouse, type ClickHouseClient } from '../src/storage/clickhouse.js';
import { initialize } from '../testing/deployment.js';
import { countEvents, json } from '../testing/answers.js';
import { freePort, spawnStreamtrack, type StreamtrackProcess } from '../testing/processes.js';
import { isolatedEnv, roleEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';

type Headers = Record<string, string>;
interface User {
  traits: Record<string, unknown>;
  linked_ids: Array<{ id: string }>;
}

let api: StreamtrackProcess;
let worker: StreamtrackProcess;
let base = '';
let clickhouse: ClickHouseClient;
const keys = { shopWrite: '', shopRead: '', otherWrite: '', otherRead: '' };

beforeAll(async () => {
  const services = inject('services');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Limits high enough that the attacks' batches are refused for what they are, not for the rate.
  const env = isolatedEnv(services, { STREAMTRACK_AUTH: 'keys', AUTH_REFRESH_MS: '200', API_PORT: String(port), API_WRITE_EVENTS_PER_SECOND: '1000000', API_READ_REQUESTS_PER_SECOND: '1000' });
  await initialize(services, env);
  clickhouse = createClickHouse(loadConfig(env).clickhouse);
  const store = createKeyStore(clickhouse);
  await store.createProject('shop');
  await store.createProject('other');
  keys.shopWrite = (await store.createKey('shop', ['write'])).key;
  keys.shopRead = (await store.createKey('shop', ['events:read', 'stats:read'])).key;
  keys.otherWrite = (await store.createKey('other', ['write'])).key;
  keys.otherRead = (await store.createKey('other', ['events:read'])).key;
  api = spawnStreamtrack('api', roleEnv(services, env, 'api'));
  worker = spawnStreamtrack('worker', roleEnv(services, env, 'worker'));
  await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: `API ready\n${api.output()}` });
});

afterAll(async () => {
  await clickhouse?.close();
  const codes = await Promise.all([api?.stop(), worker?.stop()]);
  expect(codes, `exit codes of api and worker\n${api?.output()}\n${worker?.output()}`).toEqual([0, 0]);
});

const basic = (user: string, password = ''): Headers => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const bearer = (key: string): Headers => ({ authorization: `Bearer ${key}` });

function post(path: string, body: string | Uint8Array, headers: Headers = basic(keys.shopWrite)): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

const count = (where: string, params: Record<string, unknown> = {}) => countEvents(clickhouse, where, params);

/** Every stored event of the project as the read key sees it (the last 7 days). */
async function activities(key: string, query = ''): Promise<ActivitiesPage['events']> {
  return (await json<ActivitiesPage>(await fetch(`${base}/activities?limit=1000${query}`, { headers: bearer(key) }), 200)).events;
}

/**
 * A sentinel event per user, accepted and waited for until stored: anything
 * published ahead of it for that user (so on its partition) is stored by then too.
 */
async function sentinels(userIds: string[]): Promise<void> {
  const messages = userIds.map((userId) => ({ type: 'track', userId, event: 'sentinel', messageId: randomUUID() }));
  await json<SegmentResponse>(await post('/v1/batch', JSON.stringify({ batch: messages })), 200);
  const ids = messages.map((m) => m.messageId);
  await waitFor(async () => ((await count('event_id IN {ids:Array(UUID)}', { ids })) === ids.length ? true : undefined), {
    timeoutMs: 30_000,
    what: `sentinels stored\n${worker.output()}`,
  });
}

const sent = { segment: [] as string[], rudder: [] as string[] };
let segmentBatch = '';

describe('Segment and RudderStack clients from npm', () => {
  it("@segment/analytics-node: track, identify, page and alias, flushed, every message stored under its messageId's event id", async () => {
    const analytics = new SegmentAnalytics({ writeKey: keys.shopWrite, host: base, flushAt: 3, maxRetries: 1 });
    const statuses: number[] = [];
    analytics.on('http_request', ({ body }) => {
      segmentBatch = body as string;
      sent.segment.push(...(JSON.parse(segmentBatch) as { batch: Array<{ messageId: string }> }).batch.map((m) => m.messageId));
    });
    analytics.on('http_response', ({ status }) => statuses.push(status));
    const errors: unknown[] = [];
    analytics.on('error', (error) => errors.push(error));

    analytics.page({ anonymousId: 'seg-anon', name: 'Pricing', properties: { path: '/pricing' } });
    analytics.track({ anonymousId: 'seg-anon', event: 'Plan Viewed', properties: { plan: 'pro', price: 49 } });
    analytics.identify({ userId: 'seg-user', anonymousId: 'seg-anon', traits: { email: 'ada@shop.example', plan: 'pro' } });
    analytics.track({ userId: 'seg-user', event: 'Order Completed', properties: { total: 49, currency: 'EUR' } });
    analytics.alias({ userId: 'seg-user', previousId: 'seg-old-device' });
    await analytics.closeAndFlush({ timeout: 20_000 });

    expect(errors).toEqual([]);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(sent.segment).toHaveLength(5);
    expect(sent.segment.every((id) => id.startsWith('node-next-'))).toBe(true);

    const stored = await waitFor(
      async () => {
        const events = await activities(keys.shopRead);
        return sent.segment.every((id) => events.some((e) => e.message_id === id)) ? events : undefined;
      },
      { timeoutMs: 30_000, what: `analytics-node's messages stored\n${worker.output()}` },
    );
    const byMessage = new Map(stored.map((e) => [e.message_id, e]));
    for (const id of sent.segment) expect(byMessage.get(id)!.event_id).toBe(eventIdOfMessageId('shop', id));
    expect(stored.filter((e) => sent.segment.includes(e.message_id ?? ''))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'page', action: '$page', name: 'Pricing', user_id: 'seg-anon', anonymous_id: 'seg-anon', properties: { path: '/pricing' } }),
        expect.objectContaining({ type: 'track', action: 'Plan Viewed', user_id: 'seg-anon', properties: { plan: 'pro', price: 49 } }),
        expect.objectContaining({ type: 'identify', action: '$identify', user_id: 'seg-user', anonymous_id: 'seg-anon', traits: { email: 'ada@shop.example', plan: 'pro' } }),
        expect.objectContaining({ type: 'track', action: 'Order Completed', user_id: 'seg-user', context: expect.objectContaining({ library: { name: '@segment/analytics-node', version: expect.any(String) as string } }) }),
        expect.objectContaining({ type: 'alias', action: '$alias', user_id: 'seg-user', anonymous_id: 'seg-old-device' }),
      ]),
    );
  });

  it('@rudderstack/rudder-sdk-node (gzip): track, identify, page and alias, flushed, every message stored under its messageId', async () => {
    const rudder = new RudderAnalytics(keys.shopWrite, {
      dataPlaneUrl: base,
      flushAt: 2,
      flushInterval: 200,
      retryCount: 1,
      logLevel: 'error',
      beforeEnqueue: (message) => {
        sent.rudder.push(message.messageId);
        return message;
      },
    });
    const failures: unknown[] = [];
    const done = (error?: unknown) => {
      if (error) failures.push(error);
    };
    rudder.page({ anonymousId: 'rud-anon', name: 'Docs', properties: { path: '/docs' } }, done);
    rudder.track({ anonymousId: 'rud-anon', event: 'Search', properties: { query: 'kafka' } }, done);
    rudder.identify({ userId: 'rud-user', anonymousId: 'rud-anon', traits: { company: 'ACME' } }, done);
    rudder.alias({ userId: 'rud-user', previousId: 'rud-previous' }, done);
    await rudder.flush();

    expect(sent.rudder).toHaveLength(4);
    const stored = await waitFor(
      async () => {
        const events = await activities(keys.shopRead);
        return sent.rudder.every((id) => events.some((e) => e.event_id === id.toLowerCase() && e.message_id === id)) ? events : undefined;
      },
      { timeoutMs: 30_000, what: `rudder-sdk-node's messages stored ${JSON.stringify(failures)}\n${worker.output()}` },
    );
    expect(failures).toEqual([]);
    expect(stored).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'page', name: 'Docs', user_id: 'rud-anon' }),
        expect.objectContaining({ type: 'track', action: 'Search', properties: { query: 'kafka' } }),
        expect.objectContaining({ type: 'identify', user_id: 'rud-user', anonymous_id: 'rud-anon', traits: { company: 'ACME' } }),
        expect.objectContaining({ type: 'alias', user_id: 'rud-user', anonymous_id: 'rud-previous' }),
      ]),
    );
  });

  it('stores a resent batch once: the same messageIds are the same event ids', async () => {
    expect(segmentBatch).not.toBe('');
    const ids = (JSON.parse(segmentBatch) as { batch: Array<{ messageId: string }> }).batch.map((m) => m.messageId);
    const resend = await json<SegmentResponse>(await post('/v1/batch', segmentBatch), 200);
    expect(resend.results.map((r) => (r.status === 'accepted' ? r.event_id : ''))).toEqual(ids.map((id) => eventIdOfMessageId('shop', id)));
    await sentinels(['seg-user', 'seg-anon']);
    for (const id of ids) expect(await count('message_id = {id:String}', { id })).toBe(1);
  });

  it('links the anonymous ids: /users answers traits and links, /activities and /stats include the linked ids on request', async () => {
    const user = await waitFor(
      async () => {
        const response = await fetch(`${base}/users/seg-user`, { headers: bearer(keys.shopRead) });
        const body = response.status === 200 ? ((await response.json()) as User) : undefined;
        return body && body.linked_ids.length === 2 ? body : undefined;
      },
      { timeoutMs: 10_000, what: 'seg-user linked' },
    );
    expect(user.traits).toEqual({ email: 'ada@shop.example', plan: 'pro' });
    expect(user.linked_ids.map((l) => l.id).sort()).toEqual(['seg-anon', 'seg-old-device']);

    const own = await activities(keys.shopRead, '&user_id=seg-user');
    const linked = await activities(keys.shopRead, '&user_id=seg-user&include_linked=true');
    const everything = await activities(keys.shopRead);
    const ids = (events: ActivitiesPage['events']) => events.map((e) => e.event_id).sort();
    expect(ids(own)).toEqual(ids(everything.filter((e) => e.user_id === 'seg-user')));
    expect(ids(linked)).toEqual(ids(everything.filter((e) => ['seg-user', 'seg-anon', 'seg-old-device'].includes(e.user_id))));
    expect(linked.filter((e) => e.user_id === 'seg-anon').map((e) => e.action)).toEqual(expect.arrayContaining(['$page', 'Plan Viewed']));

    const range = `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}&granularity=1m`;
    const total = (body: { series: Array<{ events: number }> }) => body.series.reduce((sum, p) => sum + p.events, 0);
    const stats = await waitFor(
      async () => {
        const plain = (await (await fetch(`${base}/stats/users/seg-user?${range}`, { headers: bearer(keys.shopRead) })).json()) as { series: Array<{ events: number }> };
        const withLinks = (await (await fetch(`${base}/stats/users/seg-user?${range}&include_linked=true`, { headers: bearer(keys.shopRead) })).json()) as {
          series: Array<{ events: number }>;
          linked_ids: string[];
        };
        return total(plain) === own.length && total(withLinks) === linked.length ? withLinks : undefined;
      },
      { timeoutMs: 30_000, what: 'the linked ids counted in /stats' },
    );
    expect(stats.linked_ids.sort()).toEqual(['seg-anon', 'seg-old-device']);
    // Another project's key knows nothing of shop's users.
    expect((await fetch(`${base}/users/seg-user`, { headers: bearer(keys.otherRead) })).status).toBe(404);
    expect(await activities(keys.otherRead, '&user_id=seg-user&include_linked=true')).toEqual([]);
  });
});

describe('hostile requests to the /v1 routes', () => {
  const message = (userId: string, extra: object = {}) => ({ type: 'track', userId, event: 'attack', ...extra });
  const batch = (messages: unknown[]) => JSON.stringify({ batch: messages });
  /** The answer and how long it took, in ms. */
  async function timed(request: Promise<Response>): Promise<{ response: Response; ms: number }> {
    const started = performance.now();
    const response = await request;
    await response.clone().arrayBuffer();
    return { response, ms: performance.now() - started };
  }

  it('refuses a malformed Basic header and a wrong key with the one 401, before reading the body', async () => {
    const none = await post('/v1/batch', batch([message('atk-auth')]), {});
    const unauthorized = await none.text();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic');
    for (const headers of [
      { authorization: 'Basic !!!not-base64!!!' },
      { authorization: 'Basic ' },
      basic(`st_wk_${'0'.repeat(16)}_${'0'.repeat(40)}`),
      basic(keys.shopWrite.slice(0, -1) + (keys.shopWrite.endsWith('0') ? '1' : '0')),
      bearer('nonsense'),
    ]) {
      const response = await post('/v1/batch', batch([message('atk-auth')]), headers);
      expect(response.status).toBe(401);
      expect(await response.text()).toBe(unauthorized);
    }
    const read = await post('/v1/batch', batch([message('atk-auth')]), basic(keys.shopRead));
    expect(await json<ErrorBody>(read, 403)).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('refuses a gzip bomb with 413 in milliseconds, without inflating it whole; bad gzip and unknown encodings too', async () => {
    // 100 MB of a repeated message: about 100 KB compressed, under the body limit, so only the inflated size can refuse it.
    const bomb = gzipSync(Buffer.alloc(100_000_000, ' '));
    expect(bomb.length).toBeLessThan(512_000);
    const { response, ms } = await timed(post('/v1/batch', bomb, { ...basic(keys.shopWrite), 'content-encoding': 'gzip' }));
    expect(await json<ErrorBody>(response, 413)).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(ms).toBeLessThan(1_000); // a safety bound: the inflation stops at the limit
    const broken = await post('/v1/batch', Buffer.from('not gzip at all'), { ...basic(keys.shopWrite), 'content-encoding': 'gzip' });
    expect(await json<ErrorBody>(broken, 400)).toMatchObject({ error: { code: 'invalid_gzip' } });
    const brotli = await post('/v1/batch', batch([message('atk-gzip')]), { ...basic(keys.shopWrite), 'content-encoding': 'br' });
    expect(await json<ErrorBody>(brotli, 415)).toMatchObject({ error: { code: 'unsupported_content_encoding' } });
    const ok = await post('/v1/batch', gzipSync(batch([message('atk-gzip-ok')])), { ...basic(keys.shopWrite), 'content-encoding': 'gzip' });
    expect((await json<SegmentResponse>(ok, 200)).accepted).toBe(1);
  });

  it('refuses a 33 KB message alone in a batch and as a single message, and a 501 KB batch, plain or gzip', async () => {
    const big = message('atk-size', { properties: { blob: 'x'.repeat(33 * 1024) } });
    const mixed = await json<SegmentResponse>(await post('/v1/batch', batch([big, message('atk-size-ok')])), 207);
    expect(mixed.results[0]).toMatchObject({ status: 'refused', errors: [{ code: 'event_too_large' }] });
    expect(mixed.results[1]).toMatchObject({ status: 'accepted' });
    expect(await json<ErrorBody>(await post('/v1/track', JSON.stringify(big)), 413)).toMatchObject({ error: { code: 'event_too_large' } });
    const huge = batch(Array.from({ length: 30 }, () => message('atk-size', { properties: { blob: 'y'.repeat(17 * 1024) } })));
    expect(Buffer.byteLength(huge)).toBeGreaterThan(501 * 1024);
    expect(await json<ErrorBody>(await post('/v1/batch', huge), 413)).toMatchObject({ error: { code: 'payload_too_large' } });
    const zipped = await post('/v1/batch', gzipSync(huge), { ...basic(keys.shopWrite), 'content-encoding': 'gzip' });
    expect(await json<ErrorBody>(zipped, 413)).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('refuses 10,001 tiny messages at once, and answers 10,000 of an unknown type each with its error', async () => {
    const tiny = { type: 'nope', userId: 'atk-many' };
    const over = await timed(post('/v1/batch', batch(Array.from({ length: 10_001 }, () => tiny))));
    expect(await json<ErrorBody>(over.response, 413)).toMatchObject({ error: { code: 'too_many_events' } });
    const all = await timed(post('/v1/batch', batch(Array.from({ length: 10_000 }, () => tiny))));
    const body = await json<SegmentResponse>(all.response, 400);
    expect(body).toMatchObject({ success: false, accepted: 0, refused: 10_000, error: { code: 'invalid_events' } });
    expect(body.results[9_999]).toMatchObject({ index: 9_999, status: 'refused', errors: [{ field: 'type', code: 'unknown_type' }] });
  });

  it('refuses unknown types, non-objects and messages missing their ids, each alone, with the field named', async () => {
    const answer = await json<SegmentResponse>(
      await post('/v1/batch', batch([{ type: 'purchase', userId: 'atk-shape' }, 42, 'x', null, [], { type: 'track', event: 'no-id' }, { type: 'alias', userId: 'atk-shape' }, message('atk-shape-ok', { userId: 7 }), message('atk-shape-ok')])),
      207,
    );
    expect(answer.results.map((r) => (r.status === 'refused' ? `${r.errors[0]!.field}:${r.errors[0]!.code}` : 'accepted'))).toEqual([
      'type:unknown_type',
      '$:not_an_object',
      '$:not_an_object',
      '$:not_an_object',
      '$:not_an_object',
      'userId:missing',
      'previousId:missing',
      'userId:wrong_type',
      'accepted',
    ]);
    for (const body of ['[1]', '"batch"', '42', '{"batch": {}}', 'not json']) {
      const response = await post('/v1/batch', body);
      expect(response.status, body).toBe(400);
      expect(((await response.json()) as ErrorBody).error.code).toMatch(/^invalid_(batch|json)$/);
    }
    expect(await json<SegmentResponse>(await post('/v1/track', '42'), 400)).toMatchObject({ results: [{ errors: [{ code: 'not_an_object' }] }] });
    expect(await json<ErrorBody>(await post('/v1/track', 'x', { ...basic(keys.shopWrite), 'content-type': 'application/xml' }), 415)).toMatchObject({ error: { code: 'unsupported_media_type' } });
  });

  it('harmed nothing else: the attacks stored only their accepted messages, in their own project, and the API serves on', async () => {
    await sentinels(['atk-auth', 'atk-gzip', 'atk-gzip-ok', 'atk-size', 'atk-size-ok', 'atk-many', 'atk-shape', 'atk-shape-ok']);
    expect(await count("user_id LIKE 'atk-%' AND action != 'sentinel'")).toBe(3); // atk-gzip-ok, atk-size-ok, atk-shape-ok
    expect(await count("user_id LIKE 'atk-%' AND project_id != 'shop'")).toBe(0);
    expect(await count("project_id = 'other'")).toBe(0);
    expect(api.child.exitCode).toBeNull();
    expect((await json<SegmentResponse>(await post('/v1/identify', JSON.stringify({ userId: 'after', traits: { ok: true } })), 200)).accepted).toBe(1);
  });
});
