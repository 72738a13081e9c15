/**
 * The seed's quick start, end to end: the API and the topology worker run as
 * separate processes against the real broker, registry and ClickHouse engine;
 * events posted to /track become visible in /activities, each exactly once.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { initialize } from '../testing/deployment.js';
import { freePort, spawnStreamtrack, type StreamtrackProcess } from '../testing/processes.js';
import { isolatedEnv, roleEnv } from '../testing/test-config.js';
import { acceptedIds } from '../testing/track-client.js';
import { waitFor } from '../testing/wait-for.js';

interface Activities {
  events: Array<{ event_id: string; user_id: string; action: string; timestamp: string; properties: Record<string, unknown> }>;
}

let api: StreamtrackProcess;
let worker: StreamtrackProcess;
let base: string;
let opsBase: string;

beforeAll(async () => {
  const [port, opsPort] = [await freePort(), await freePort()];
  const services = inject('services');
  const env = isolatedEnv(services, { API_PORT: String(port), API_OPS_PORT: String(opsPort), LOG_LEVEL: 'info' });
  base = `http://127.0.0.1:${port}`;
  opsBase = `http://127.0.0.1:${opsPort}`;
  // As deployed: init first, then each process as its own Kafka user (on a broker that has them).
  await initialize(services, env);
  api = spawnStreamtrack('api', roleEnv(services, env, 'api'));
  worker = spawnStreamtrack('worker', roleEnv(services, env, 'worker'));
  await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), {
    timeoutMs: 60_000,
    what: `API ready\n${api.output()}`,
  });
});

afterAll(async () => {
  const codes = await Promise.all([api?.stop(), worker?.stop()]);
  expect(codes, `exit codes of api and worker\n${worker?.output()}`).toEqual([0, 0]);
});

async function track(body: unknown): Promise<Response> {
  return fetch(`${base}/track`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** The last 7 days: the default range of a read without a user filter. */
async function activities(query = ''): Promise<Activities> {
  const response = await fetch(`${base}/activities?limit=1000${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Activities;
}

describe('quick start', () => {
  it('reports itself alive and ready: the status to clients, every check on the operations port', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect(await (await fetch(`${opsBase}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { kafka: { ok: true }, schema_registry: { ok: true }, clickhouse: { ok: true, required: false } },
    });
    expect((await fetch(`${opsBase}/metrics`)).status).toBe(200);
  });

  it('stores every accepted event exactly once and lists the newest first', async () => {
    const payloads = [
      { user_id: 'local_user', action: 'app_started' }, // the seed's exact payload
      { user_id: 'local_user', action: 'page_viewed', properties: { path: '/pricing', logged_in: true } },
      { user_id: 'другой', action: 'purchase', timestamp: '2026-01-01T12:00:00.000Z', properties: { amount: 19.99, coupon: null } },
      ...Array.from({ length: 20 }, (_, i) => ({ user_id: `user_${i % 5}`, action: 'click', properties: { n: i } })),
    ];
    const accepted: string[] = [];
    for (const payload of payloads) {
      const response = await track(payload);
      expect(response.status).toBe(202);
      accepted.push(...(await acceptedIds(response)));
    }

    // The purchase is dated 2026-01-01, out of the default 7 days: read by user, which needs no range.
    const users = [...new Set(payloads.map((p) => p.user_id))].map((u) => `&user_id=${encodeURIComponent(u)}`).join('');
    const listed = await waitFor(
      async () => {
        const { events } = await activities(users);
        return accepted.every((id) => events.some((e) => e.event_id === id)) ? events : undefined;
      },
      { timeoutMs: 30_000, what: `all ${accepted.length} events in /activities\n${worker.output()}` },
    );

    const counts = new Map<string, number>();
    for (const e of listed) counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
    expect(listed).toHaveLength(accepted.length);
    expect(accepted.every((id) => counts.get(id) === 1)).toBe(true);

    const times = listed.map((e) => Date.parse(e.timestamp));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const purchase = listed.find((e) => e.action === 'purchase');
    expect(purchase).toMatchObject({
      user_id: 'другой',
      timestamp: '2026-01-01T12:00:00.000Z',
      properties: { amount: 19.99, coupon: null },
    });
  });

  it('stores a resent event_id once, however the resend arrives', async () => {
    const event = { event_id: '6f1c2a9e-4b7d-4c1e-9a3b-2d5e8f0a1b2c', user_id: 'resender', action: 'checkout' };
    const sentinel = { user_id: 'resender', action: 'after_resends' }; // same user: same partition, later offset
    expect((await track([event, event])).status).toBe(202); // twice in one batch
    expect((await track(event)).status).toBe(202); // in a later request
    expect((await track({ batch: [event] })).status).toBe(202); // a retried batch
    const [sentinelId] = await acceptedIds(await track(sentinel));

    const { events } = await waitFor(
      async () => {
        const page = await activities();
        return page.events.some((e) => e.event_id === sentinelId) ? page : undefined;
      },
      { timeoutMs: 30_000, what: 'the sentinel after the resends' },
    );
    expect(events.filter((e) => e.event_id === event.event_id)).toHaveLength(1);
  });

  it("lists the seed's event with no parameter at all, and refuses a scan over 31 days without a user", async () => {
    const [id] = await acceptedIds(await track({ user_id: 'local_user', action: 'app_started' }));
    await waitFor(
      async () => {
        const { events } = (await (await fetch(`${base}/activities`)).json()) as Activities;
        return events.some((e) => e.event_id === id) ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the event in a bare /activities' },
    );
    const response = await fetch(`${base}/activities?from=2026-01-01T00:00:00Z`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_parameter', details: [{ field: 'from' }] } });
  });

  it('refuses a bad limit with the parameter and what is allowed', async () => {
    const response = await fetch(`${base}/activities?limit=0`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: 'invalid_parameter', details: [{ field: 'limit', problem: 'got "0"' }] },
    });
  });

  it('refuses a body over the limit over real HTTP, declared or chunked, and keeps serving', async () => {
    const big = JSON.stringify({ user_id: 'u', action: 'a', properties: { blob: 'x'.repeat(600_000) } });
    const declared = await track(JSON.parse(big));
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: { code: 'payload_too_large' } });

    const chunk = new TextEncoder().encode(big.slice(0, 64 * 1024));
    const chunked = await fetch(`${base}/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toMatchObject({ error: { code: 'payload_too_large' } });

    expect((await track({ user_id: 'after_413', action: 'still_served' })).status).toBe(202);
  });
});
