/**
 * The engine against a real local HTTP server playing the API (test/fake-api.ts):
 * batching, retries and their backoff, Retry-After, refusals, and what a
 * hostile or broken server can do to it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acceptAll, FakeApi, type Reply } from '../test/fake-api.js';
import type { DeliveryResult, StreamTrack } from './client.js';
import { createStreamTrack, type NodeOptions } from './node.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let api: FakeApi;
let results: DeliveryResult[];
let clients: StreamTrack[];

beforeEach(async () => {
  api = await new FakeApi().start();
  results = [];
  clients = [];
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close(0)));
  await api.stop();
});

function client(options: Partial<NodeOptions> = {}): StreamTrack {
  const c = createStreamTrack({
    writeKey: 'st_wk_test',
    host: api.url,
    flushAt: 100,
    flushIntervalMs: 60_000,
    backoff: { baseMs: 20, capMs: 100 },
    flushOnSignals: false,
    onResult: (r) => results.push(r),
    ...options,
  });
  clients.push(c);
  return c;
}

async function until(condition: () => boolean, what: string | (() => string), timeoutMs = 4_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const statuses = () => results.map((r) => `${r.event_id}:${r.status}`);

describe('batching', () => {
  it('sends a batch as soon as flushAt events wait, with sent_at and the write key', async () => {
    const st = client({ flushAt: 3 });
    const ids = [st.track('a', { n: 1 }), st.track('b'), st.track('c', { nested: { x: 1 }, skip: undefined })];
    await until(() => results.length === 3, 'three results');
    expect(api.received).toHaveLength(1);
    const [request] = api.received;
    expect(request!.contentType).toBe('application/json');
    expect(request!.body.write_key).toBe('st_wk_test');
    expect(Date.parse(request!.body.sent_at)).toBeGreaterThan(Date.now() - 10_000);
    expect(request!.body.batch.map((e) => e.event_id)).toEqual(ids);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(request!.body.batch[2]!.properties).toEqual({ nested: '{"x":1}' });
    expect(request!.body.batch[0]).toMatchObject({ user_id: st.anonymousId, action: 'a', context: { library: { name: '@streamtrack/sdk' } } });
    expect(statuses()).toEqual(ids.map((id) => `${id}:accepted`));
  });

  it('sends what waits once the interval has passed since the first event', async () => {
    const st = client({ flushIntervalMs: 50 });
    st.track('a');
    st.track('b');
    await until(() => results.length === 2, 'two results');
    expect(api.received.map((r) => r.body.batch.length)).toEqual([2]);
  });

  it('bounds a request by maxBatchEvents and maxBatchBytes', async () => {
    const st = client({ maxBatchEvents: 4, maxBatchBytes: 3_000 });
    for (let i = 0; i < 10; i++) st.track('e', { text: 'x'.repeat(500) });
    await st.flush();
    expect(results).toHaveLength(10);
    expect(api.received.map((r) => r.body.batch.length)).toEqual([3, 3, 3, 1]);
  });

  it('sends identify, alias and page as v3 messages: type, user and anonymous ids, traits, name', async () => {
    const st = client();
    const anonymous = st.anonymousId;
    st.track('browsed');
    st.identify('user-1', { plan: 'pro', address: { city: 'Oslo' } });
    st.page('Pricing', { section: 'top' });
    st.alias('user-2');
    st.alias('user-3', 'old-device');
    st.track('bought', { amount: 3 }, { userId: 'other', timestamp: Date.parse('2026-01-01T00:00:00Z') });
    await st.flush();
    const sent = api.received.flatMap((r) => r.body.batch);
    expect(sent.map((e) => [e.type, e.action, e.user_id, e.anonymous_id])).toEqual([
      ['track', 'browsed', anonymous, anonymous],
      // A Node client serves many users: its anonymous id is nobody's to link.
      ['identify', '$identify', 'user-1', undefined],
      ['page', '$page', 'user-1', anonymous],
      // The server links an alias's anonymous_id (the previous id) to its user_id.
      ['alias', '$alias', 'user-2', 'user-1'],
      ['alias', '$alias', 'user-3', 'old-device'],
      // Another user's event: not this client's anonymous id.
      ['track', 'bought', 'other', undefined],
    ]);
    expect(sent[1]!.traits).toEqual({ plan: 'pro', address: '{"city":"Oslo"}' });
    expect(sent[1]!.properties).toEqual({});
    expect(sent[2]!.name).toBe('Pricing');
    expect(sent[2]!.properties).toEqual({ section: 'top' });
    expect(sent[3]!.properties).toEqual({});
    expect(sent[5]!.timestamp).toBe('2026-01-01T00:00:00.000Z');
    for (const event of sent) expect(Object.keys(event).filter((key) => key.startsWith('$'))).toEqual([]);
    expect(st.userId).toBe('user-3');
    st.reset();
    expect(st.userId).toBeUndefined();
    expect(st.anonymousId).not.toBe(anonymous);
  });
});

describe('answers', () => {
  it("surfaces each event's result of a 207", async () => {
    api.script = (request) => {
      const [a, b] = request.body.batch;
      return {
        status: 207,
        body: JSON.stringify({
          accepted: 1,
          refused: 1,
          results: [
            { index: 0, status: 'accepted', event_id: a!.event_id, warnings: ['timestamp_in_future_clamped'] },
            { index: 1, status: 'refused', errors: [{ field: 'action', code: 'too_long', problem: 'is 300 characters' }] },
          ],
        }),
      };
    };
    const st = client();
    const [a, b] = [st.track('a'), st.track('b'.repeat(300))];
    await st.flush();
    expect(results).toEqual([
      { status: 'accepted', event_id: a, action: 'a', warnings: ['timestamp_in_future_clamped'] },
      { status: 'refused', event_id: b, action: 'b'.repeat(300), errors: [{ field: 'action', code: 'too_long', problem: 'is 300 characters' }] },
    ]);
    expect(st.pending()).toEqual([]);
  });

  it('retries 5xx with the same event ids until a final answer, then reports once', async () => {
    api.script = (request, index) => (index < 2 ? { status: 503, body: '{"error":{"code":"kafka_unavailable"}}' } : acceptAll(request));
    const st = client({ flushIntervalMs: 10 });
    const ids = [st.track('a'), st.track('b')];
    await until(() => results.length === 2, 'two results');
    expect(api.received).toHaveLength(3);
    for (const request of api.received) expect(request.body.batch.map((e) => e.event_id)).toEqual(ids);
    expect(statuses()).toEqual(ids.map((id) => `${id}:accepted`));
  });

  it('waits out Retry-After on a 429 before the next attempt', async () => {
    api.script = (request, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: '{"error":{"code":"rate_limited"}}' } : acceptAll(request));
    const st = client({ flushIntervalMs: 10 });
    st.track('a');
    await until(() => results.length === 1, 'the result', 5_000);
    expect(api.received[1]!.at - api.received[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('never retries a 4xx refusal: every event of the batch refused with its reason, once', async () => {
    api.script = () => ({ status: 401, body: '{"error":{"code":"unauthorized","message":"unknown key"}}' });
    const st = client();
    const ids = [st.track('a'), st.track('b')];
    await st.flush();
    await st.flush();
    expect(api.received).toHaveLength(1);
    expect(results).toEqual(ids.map((id, i) => ({ status: 'refused', event_id: id, action: 'ab'[i], errors: [{ field: '$', code: 'unauthorized', problem: 'unknown key' }] })));
  });

  it('halves a batch answered 413 until it fits, losing nothing', async () => {
    api.script = (request) => (request.body.batch.length > 2 ? { status: 413, body: '{"error":{"code":"payload_too_large"}}' } : acceptAll(request));
    const st = client({ flushIntervalMs: 10 });
    const ids = Array.from({ length: 7 }, (_, i) => st.track(`e${i}`));
    await until(() => results.length === 7, 'seven results');
    expect(api.received.map((r) => r.body.batch.length)).toEqual([7, 4, 2, 2, 2, 1]);
    expect(statuses().sort()).toEqual(ids.map((id) => `${id}:accepted`).sort());
  });
});

describe('a hostile or broken server', () => {
  it('answers that are not the API (garbage, HTML) are retried up to maxAttempts, then dropped', async () => {
    api.script = (_r, index) => ({ status: 200, body: index % 2 ? '<html>portal</html>' : '{"results":' });
    const st = client({ maxAttempts: 3, flushIntervalMs: 10 });
    const id = st.track('a');
    await until(() => results.length === 1, () => `the drop: ${api.received.length} requests, ${JSON.stringify(results)}`);
    expect(api.received).toHaveLength(3);
    expect(results).toEqual([{ status: 'dropped', event_id: id, action: 'a', reason: 'max_attempts' }]);
  });

  it('abandons a hung connection after requestTimeoutMs and retries', async () => {
    api.script = (request, index) => (index === 0 ? 'hang' : acceptAll(request));
    const st = client({ requestTimeoutMs: 200, flushIntervalMs: 10 });
    const id = st.track('a');
    await until(() => results.length === 1, 'the result');
    expect(api.received).toHaveLength(2);
    expect(results).toEqual([{ status: 'accepted', event_id: id, action: 'a' }]);
  });

  it('does not count failed connections as attempts: an outage keeps the queue', async () => {
    api.script = (request, index) => (index < 5 ? 'reset' : acceptAll(request));
    const st = client({ maxAttempts: 2, flushIntervalMs: 10 });
    const id = st.track('a');
    await until(() => results.length === 1, 'the result');
    expect(results).toEqual([{ status: 'accepted', event_id: id, action: 'a' }]);
  });

  it('never loops hot: a server failing every request gets a handful of requests a second at the default backoff', async () => {
    api.script = () => ({ status: 500, body: 'oops' });
    const st = client({ backoff: {}, flushIntervalMs: 0 });
    st.track('a');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Full jitter over 0.5 s, 1 s, 2 s…: about three; a busy loop would be thousands.
    expect(api.received.length).toBeLessThanOrEqual(10);
  });

  it('reads at most 1 MB of an answer', async () => {
    api.script = () => ({ status: 202, body: 'x'.repeat(2_000_000) });
    const st = client({ maxAttempts: 1 });
    st.track('a');
    await st.flush();
    expect(results).toMatchObject([{ status: 'dropped', reason: 'max_attempts' }]);
  });
});

describe('bounds and the host', () => {
  it('holds at most maxQueueEvents, dropping the oldest with a result', async () => {
    const st = client({ maxQueueEvents: 5 });
    const ids = Array.from({ length: 8 }, (_, i) => st.track(`e${i}`));
    expect(st.pending().map((e) => e.event_id)).toEqual(ids.slice(3));
    expect(results).toEqual(ids.slice(0, 3).map((id, i) => ({ status: 'dropped', event_id: id, action: `e${i}`, reason: 'queue_full' })));
  });

  it('refuses an event over maxEventBytes on the spot: never queued, never sent', async () => {
    const st = client();
    const id = st.track('huge', { blob: 'x'.repeat(100_000) });
    expect(results).toMatchObject([{ status: 'refused', event_id: id, errors: [{ code: 'event_too_large' }] }]);
    expect(st.pending()).toEqual([]);
    await st.flush();
    expect(api.received).toHaveLength(0);
  });

  it('never throws into the host, whatever it passes or its callback does', async () => {
    const st = client({
      onResult: (r) => {
        results.push(r);
        throw new Error('the host callback fails');
      },
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const calls = [
      () => st.track('circular', circular),
      () => st.track('bigint', { n: 10n, inf: Infinity, f: () => 1 }),
      () => st.track(null as unknown as string),
      () => st.track('props', 'not an object' as unknown as Record<string, unknown>),
      () => st.identify(undefined as unknown as string),
      () => st.alias(42 as unknown as string),
      () => st.page(undefined, null as unknown as Record<string, unknown>),
      () => st.page('text', 'abc' as unknown as Record<string, unknown>),
    ];
    for (const call of calls) expect(call).not.toThrow();
    await expect(st.flush()).resolves.toBeUndefined();
    const sent = api.received.flatMap((r) => r.body.batch);
    expect(sent.map((e) => e.action)).toEqual(['circular', 'bigint', 'props', '$page', '$page']);
    expect(sent[3]!.name).toBeUndefined();
    expect(sent[4]!.name).toBe('text');
    expect(sent[4]!.properties).toEqual({});
    expect(sent[1]!.properties).toEqual({ n: '[object BigInt]', inf: null });
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
  });
});

it('refuses a set-up without a write key or host, the one exception it raises', () => {
  expect(() => createStreamTrack({ host: api.url } as unknown as NodeOptions)).toThrow(new TypeError('StreamTrack: writeKey and host must be strings'));
  expect(() => createStreamTrack(undefined as unknown as NodeOptions)).toThrow(TypeError);
});

describe('close', () => {
  it('delivers what waits, then refuses new calls', async () => {
    const st = client();
    const ids = [st.track('a'), st.track('b')];
    await st.close(5_000);
    expect(statuses()).toEqual(ids.map((id) => `${id}:accepted`));
    expect(st.track('after')).toBeUndefined();
  });

  it('keeps its deadline against a hung server, dropping what is left as closed', async () => {
    api.script = () => 'hang';
    const st = client();
    const id = st.track('a');
    const started = Date.now();
    await st.close(300);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(results).toEqual([{ status: 'dropped', event_id: id, action: 'a', reason: 'closed' }]);
  });
});
