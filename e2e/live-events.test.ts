/**
 * GET /live/events against the real API process, broker and registry, with
 * keys: events sent after a stream opened arrive in it, filtered, confined to
 * the key's project; a stream resumes with Last-Event-ID; and the attacks
 * on it are bounded: a thousand connections (the cap answers 503 at once), a
 * reader that never reads (it loses the oldest events and is told), a bad
 * Last-Event-ID (400 naming it), another project's id: none harms /track or
 * the other streams.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../src/storage/events-table.js';
import { startKeyedStack, type KeyedStack } from '../testing/keyed-stack.js';
import { openSse, type SseConnection } from '../testing/sse-client.js';
import { waitFor } from '../testing/wait-for.js';

const MAX_STREAMS = 40;
const MAX_PER_KEY = 30;
const BUFFER = 50;

let stack: KeyedStack;
const open: SseConnection[] = [];

beforeAll(async () => {
  stack = await startKeyedStack({
    worker: false,
    apiEnv: {
      API_LIVE_MAX_CONNECTIONS: String(MAX_STREAMS),
      API_LIVE_MAX_CONNECTIONS_PER_KEY: String(MAX_PER_KEY),
      API_LIVE_BUFFER_EVENTS: String(BUFFER),
      API_LIVE_HEARTBEAT_MS: '500',
      API_MAX_CONNECTIONS: '2000',
      // Short, so a test sees a stream outlive them: they bound receiving a request, not streaming its answer.
      API_HEADERS_TIMEOUT_MS: '2000',
      API_REQUEST_TIMEOUT_MS: '3000',
      API_READ_REQUESTS_PER_SECOND: '100000',
      API_WRITE_EVENTS_PER_SECOND: '100000',
    },
  });
});

afterAll(async () => {
  for (const c of open) c.close();
  const codes = await stack?.stop();
  expect(codes, stack?.api.output()).toEqual([0]);
});

type LiveRecord = StoredEvent & { partition: number; offset: number };

async function live(query: string, key: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const connection = await openSse(`${stack.base}/live/events${query}`, { Authorization: `Bearer ${key}`, ...headers });
  if (connection.status === 200) {
    open.push(connection);
    await waitFor(async () => (connection.events.some((e) => e.type === 'ready') ? true : undefined), { timeoutMs: 30_000, what: 'the stream ready' });
  }
  return connection;
}

async function track(key: string, events: Array<{ user_id: string; action: string }>) {
  const response = await fetch(`${stack.base}/track`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(events),
  });
  expect(response.status).toBe(202);
}

const received = (c: SseConnection, user: string) => c.records<LiveRecord>().filter((r) => r.user_id === user);

describe('GET /live/events', () => {
  it('streams events accepted after it opened, in the full stored shape, filtered, and only the key’s project', async () => {
    const all = await live('', stack.alpha.read);
    const filtered = await live('?user_id=u-filter&action=buy', stack.alpha.read);
    const beta = await live('', stack.beta.read);
    const sent = Date.now();
    await track(stack.alpha.write, [
      { user_id: 'u-filter', action: 'buy' },
      { user_id: 'u-filter', action: 'view' },
      { user_id: 'u-other', action: 'buy' },
    ]);
    const got = await waitFor(async () => (received(all, 'u-filter').length + received(all, 'u-other').length === 3 ? all.records<LiveRecord>() : undefined), {
      timeoutMs: 10_000,
      what: 'three events live',
    });
    expect(Date.now() - sent, 'within a second of being accepted').toBeLessThan(2_000);
    const buy = got.find((r) => r.user_id === 'u-filter' && r.action === 'buy')!;
    expect(buy).toMatchObject({ project_id: 'alpha', properties: {}, warnings: [], sent_at: null, session_id: null });
    expect(buy.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(buy.received_at)).toBeGreaterThan(sent - 5_000);
    await waitFor(async () => (filtered.records().length >= 1 ? true : undefined), { timeoutMs: 5_000, what: 'the filtered stream' });
    expect(filtered.records<LiveRecord>().map((r) => [r.user_id, r.action])).toEqual([['u-filter', 'buy']]);
    // beta's key sees none of alpha's events; beta's own arrive.
    await track(stack.beta.write, [{ user_id: 'b-user', action: 'beta_only' }]);
    await waitFor(async () => (received(beta, 'b-user').length === 1 ? true : undefined), { timeoutMs: 5_000, what: "beta's event" });
    expect(beta.records<LiveRecord>().every((r) => r.project_id === 'beta')).toBe(true);
    expect(received(all, 'b-user')).toEqual([]);
  });

  it('keeps a stream open past the request timeout, with heartbeats while idle', async () => {
    const stream = await live('?user_id=u-long', stack.alpha.read);
    await waitFor(async () => (stream.events.filter((e) => e.type === 'heartbeat').length >= 8 ? true : undefined), { timeoutMs: 15_000, what: 'heartbeats for 4 s' });
    await track(stack.alpha.write, [{ user_id: 'u-long', action: 'late_in_the_stream' }]);
    await waitFor(async () => (stream.records().length === 1 ? true : undefined), { timeoutMs: 5_000, what: 'an event after the request timeout' });
    expect(stream.events.filter((e) => e.type === 'heartbeat').every((e) => /^\d+:-?\d+(,\d+:-?\d+)*$/.test(e.id ?? ''))).toBe(true);
    stream.close();
  });

  it("refuses a read naming another project, and a key without events:read", async () => {
    const other = await live('?project_id=beta', stack.alpha.read);
    expect(other.status).toBe(403);
    const writeOnly = await live('', stack.alpha.write);
    expect(writeOnly.status).toBe(403);
    const none = await openSse(`${stack.base}/live/events`, {});
    expect(none.status).toBe(401);
  });

  it('resumes after Last-Event-ID with what was missed, and refuses a bad one with 400 naming the header', async () => {
    const first = await live('?user_id=u-resume', stack.alpha.read);
    await track(stack.alpha.write, [{ user_id: 'u-resume', action: 'one' }]);
    await waitFor(async () => (first.records().length === 1 ? true : undefined), { timeoutMs: 5_000, what: 'the first event' });
    const lastId = first.events.filter((e) => e.type === 'event').at(-1)!.id!;
    expect(lastId).toMatch(/^\d+:-?\d+(,\d+:-?\d+)*$/);
    first.close();
    await track(stack.alpha.write, [
      { user_id: 'u-resume', action: 'two' },
      { user_id: 'u-resume', action: 'three' },
    ]);
    // Sent while nobody listened: a stream resumed from the last id gets them, and not the first again.
    const resumed = await live('?user_id=u-resume', stack.alpha.read, { 'Last-Event-ID': lastId });
    await waitFor(async () => (resumed.records().length === 2 ? true : undefined), { timeoutMs: 5_000, what: 'the missed events' });
    expect(resumed.records<LiveRecord>().map((r) => r.action)).toEqual(['two', 'three']);

    for (const bad of ['garbage', '0:1,0:2', `${'1:1,'.repeat(2_000)}1:1`, '0:-5', '99999999:1', '0:1;DROP']) {
      const started = Date.now();
      const refused = await openSse(`${stack.base}/live/events`, { Authorization: `Bearer ${stack.alpha.read}`, 'Last-Event-ID': bad });
      expect(refused.status, bad).toBe(400);
      expect(refused.refusal).toMatchObject({ error: { code: 'invalid_parameter', details: [{ field: 'Last-Event-ID' }] } });
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    // A position from before this process's tail (or long gone): told which partitions have a gap.
    const stale = await live('', stack.alpha.read, { 'Last-Event-ID': '0:0,1:0,2:0,3:0' });
    await waitFor(async () => (stale.events.some((e) => e.type === 'gap') || stale.events.some((e) => e.type === 'heartbeat') ? true : undefined), {
      timeoutMs: 5_000,
      what: 'a gap or a heartbeat',
    });
  });

  it('tells a reader that does not keep up how many events it lost, and keeps the others whole', async () => {
    // A raw socket that sends the request and never reads: the server's writes back up, its buffer fills.
    const socket: Socket = connect(Number(new URL(stack.base).port), '127.0.0.1');
    socket.pause();
    socket.write(`GET /live/events?user_id=u-flood HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stack.alpha.read}\r\n\r\n`);
    const watcher = await live('?user_id=u-flood', stack.alpha.read);
    const batches = 50;
    const perBatch = 100;
    // 20 MB in all: more than the kernel's socket buffers hold, so the server sees back-pressure.
    const padding = 'x'.repeat(4_000);
    for (let b = 0; b < batches; b++) {
      const response = await fetch(`${stack.base}/track`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${stack.alpha.write}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(Array.from({ length: perBatch }, (_, i) => ({ user_id: 'u-flood', action: 'flood', properties: { n: b * perBatch + i, padding } }))),
      });
      expect(response.status).toBe(202);
    }
    // Every event reaches the reading stream, or is counted in a notice (this process reads while it sends, and may lag too).
    const droppedAt = (c: SseConnection) => c.events.filter((e) => e.type === 'dropped').reduce((n, e) => n + (JSON.parse(e.data) as { dropped: number }).dropped, 0);
    await waitFor(async () => (watcher.records().length + droppedAt(watcher) === batches * perBatch ? true : undefined), {
      timeoutMs: 30_000,
      what: `every event at the reading stream, or counted as dropped (${watcher.records().length} + ${droppedAt(watcher)})`,
    });
    // The stalled one: resume reading now and see the notice of what was dropped.
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    await waitFor(async () => (/event: dropped\ndata: \{"dropped":\d+\}/.test(Buffer.concat(chunks).toString()) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'a dropped notice at the stalled reader',
    });
    const dropped = Number(/"dropped":(\d+)/.exec(Buffer.concat(chunks).toString())![1]);
    expect(dropped).toBeGreaterThan(0);
    socket.destroy();
  });

  it("refuses a key's stream over its own cap with 429, while another key still gets one", async () => {
    for (const c of open.splice(0)) c.close();
    await waitFor(async () => ((await fetch(`${stack.base}/pipeline`, { headers: { Authorization: `Bearer ${stack.alpha.read}` } })).ok ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the API',
    });
    const held = await waitFor(
      async () => {
        const attempt = await Promise.all(Array.from({ length: MAX_PER_KEY }, () => openSse(`${stack.base}/live/events`, { Authorization: `Bearer ${stack.alpha.read}` })));
        if (attempt.every((c) => c.status === 200)) return attempt;
        for (const c of attempt) c.close();
        return undefined;
      },
      { timeoutMs: 10_000, what: `${MAX_PER_KEY} streams of one key (earlier ones closing)` },
    );
    open.push(...held);
    const over = await openSse(`${stack.base}/live/events`, { Authorization: `Bearer ${stack.alpha.read}` });
    expect(over.status).toBe(429);
    expect(over.refusal).toMatchObject({ error: { code: 'too_many_streams' } });
    expect((await live('', stack.beta.read)).status).toBe(200);
    for (const c of open.splice(0)) c.close();
  });

  it('answers a thousand connections of two keys: up to the caps streamed, the rest refused at once; /track unharmed', async () => {
    for (const c of open.splice(0)) c.close();
    await waitFor(async () => ((await live('', stack.alpha.read)).status === 200 ? true : undefined), { timeoutMs: 10_000, what: 'a free slot' });
    for (const c of open.splice(0)) c.close();
    const started = Date.now();
    const attempts = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        openSse(`${stack.base}/live/events`, { Authorization: `Bearer ${i % 2 === 0 ? stack.alpha.read : stack.beta.read}` }).catch((e: Error) => e),
      ),
    );
    const answered = attempts.filter((a): a is SseConnection => !(a instanceof Error));
    expect(answered.length, attempts.filter((a) => a instanceof Error).map(String).slice(0, 3).join('; ')).toBe(1_000);
    const streamed = answered.filter((a) => a.status === 200);
    const refused = answered.filter((a) => a.status !== 200);
    expect(streamed.length).toBeLessThanOrEqual(MAX_STREAMS);
    expect(new Set(refused.map((a) => a.status))).toEqual(new Set([429, 503].filter((s) => refused.some((a) => a.status === s))));
    for (const r of refused) expect(r.refusal).toMatchObject({ error: { code: 'too_many_streams' } });
    expect(Date.now() - started).toBeLessThan(20_000);
    const accepted = await fetch(`${stack.base}/track`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.alpha.write}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'after-flood', action: 'still_served' }),
    });
    expect(accepted.status).toBe(202);
    for (const a of answered) a.close();
    // Closed streams free their slots.
    await waitFor(async () => ((await live('', stack.alpha.read)).status === 200 ? true : undefined), { timeoutMs: 10_000, what: 'slots freed' });
  });
});

describe('GET /pipeline', () => {
  it('answers a read key the installation’s figures, and refuses a write key and no key', async () => {
    const answer = await fetch(`${stack.base}/pipeline`, { headers: { Authorization: `Bearer ${stack.beta.read}` } });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { events_topic: { partitions: unknown[] }; consumer_group: unknown; dead_letters: unknown; schemas: { versions: unknown[] }; unavailable: string[] };
    expect(body.unavailable).toEqual([]);
    expect(body.events_topic.partitions).toHaveLength(4);
    expect(body.schemas.versions.length).toBeGreaterThan(0);
    expect((await fetch(`${stack.base}/pipeline`, { headers: { Authorization: `Bearer ${stack.alpha.write}` } })).status).toBe(403);
    expect((await fetch(`${stack.base}/pipeline`)).status).toBe(401);
  });
});
