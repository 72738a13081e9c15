/**
 * Identity against the real ClickHouse engine, in keys mode: events stored
 * as the worker stores them (so migration 0011's views derive links, traits
 * and first/last seen), and their minute windows written as final, as the
 * worker writes them, then read through GET /users/:user_id,
 * /activities?include_linked=true and /stats/users/:user_id?include_linked=true.
 * Two projects with the same ids: a key never sees the other project's
 * users, links or traits.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { json } from '../../testing/answers.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { trackedEvent } from '../../testing/tracked-event.js';
import { waitFor } from '../../testing/wait-for.js';
import { createKeyStore } from '../auth/key-store.js';
import type { TrackedEvent } from '../model/event.js';
import { createClickHouse, type ClickHouseClient } from '../storage/clickhouse.js';
import { insertEvents, toRow } from '../storage/events-table.js';
import { recordWatermarks, writeActivityResults } from '../storage/window-results.js';
import { userKey } from '../stream/topology.js';
import type { ActivitiesPage } from './activities.js';
import type { ErrorBody } from './errors.js';
import type { UserSchema } from './users.js';
import type { z } from '@hono/zod-openapi';

type User = z.infer<typeof UserSchema>;

const config = isolatedConfig(inject('services'), { STREAMTRACK_AUTH: 'keys', AUTH_REFRESH_MS: '200', API_READ_REQUESTS_PER_SECOND: '1000' });
let api: InProcessApi;
let clickhouse: ClickHouseClient;
const keys = { alpha: '', beta: '', alphaStats: '' };
let alphaSecret: string;
const T = Date.parse('2026-12-01T10:00:00.000Z');

function event(project: string, userId: string, at: number, fields: Partial<TrackedEvent> = {}): TrackedEvent {
  return trackedEvent({ project_id: project, user_id: userId, action: 'view', timestamp: at, ...fields });
}

const identify = (project: string, userId: string, at: number, anonymousId: string | null, traits: TrackedEvent['traits']) =>
  event(project, userId, at, { type: 'identify', action: '$identify', anonymous_id: anonymousId, traits });

/** Alpha: anon-1 browses, then identifies as u1 (a link), later traits change; anon-2 is aliased to u1. Beta: the same ids, other facts. */
const seeded = {
  alpha: [
    event('alpha', 'anon-1', T),
    event('alpha', 'anon-1', T + 1_000),
    identify('alpha', 'u1', T + 2_000, 'anon-1', { plan: 'free', email: 'u1@alpha' }),
    event('alpha', 'u1', T + 3_000),
    identify('alpha', 'u1', T + 4_000, null, { plan: 'pro' }),
    event('alpha', 'anon-2', T - 60_000),
    event('alpha', 'u1', T + 5_000, { type: 'alias', action: '$alias', anonymous_id: 'anon-2' }),
    event('alpha', 'anon-3', T + 6_000), // never linked
    // A later-dated identify that arrived first still wins by event time.
    identify('alpha', 'u2', T + 9_000, null, { plan: 'late' }),
    identify('alpha', 'u2', T + 8_000, null, { plan: 'early', seats: 3 }),
  ],
  beta: [event('beta', 'anon-1', T), identify('beta', 'u1', T + 2_000, 'anon-1', { plan: 'beta-secret' }), event('beta', 'anon-9', T)],
};

beforeAll(async () => {
  api = await inProcessApi(config);
  clickhouse = createClickHouse(config.clickhouse);
  const store = createKeyStore(clickhouse);
  alphaSecret = randomBytes(32).toString('base64url');
  await store.createProject('alpha', { jwtHs256Secret: alphaSecret });
  await store.createProject('beta');
  keys.alpha = (await store.createKey('alpha', ['events:read', 'stats:read'])).key;
  keys.beta = (await store.createKey('beta', ['events:read'])).key;
  keys.alphaStats = (await store.createKey('alpha', ['stats:read'])).key;
  const all = [...seeded.alpha, ...seeded.beta];
  await insertEvents(clickhouse, all.map((e, i) => toRow(e, { topic: 't', partition: 0, offset: String(i) }, 3)), randomUUID());
  await writeWindows(all);
  await waitFor(async () => ((await read('/users/u1', keys.alpha)).status === 200 ? true : undefined), { timeoutMs: 10_000, what: 'keys loaded' });
});
afterAll(async () => {
  await clickhouse?.close();
  await api?.close();
});

/** Each id's minute windows of these events, final (closed before any read, and before the links, whatever their time). */
async function writeWindows(events: TrackedEvent[]) {
  const windows = new Map<string, { key: string; start: number; events: TrackedEvent[] }>();
  for (const e of events) {
    const start = Math.floor(e.timestamp / 60_000) * 60_000;
    const key = userKey(e);
    const window = windows.get(`${key}@${start}`) ?? { key, start, events: [] };
    window.events.push(e);
    windows.set(`${key}@${start}`, window);
  }
  const results = [...windows.values()].map(({ key, start, events: inWindow }) => ({
    key,
    window: { start, end: start + 60_000 },
    kind: 'final' as const,
    revision: 1,
    aggregate: {
      events: inWindow.length,
      actions: Object.fromEntries([...new Set(inWindow.map((e) => e.action))].map((a) => [a, inWindow.filter((e) => e.action === a).length])),
      firstEventAt: Math.min(...inWindow.map((e) => e.timestamp)),
      lastEventAt: Math.max(...inWindow.map((e) => e.timestamp)),
      numeric: {},
    },
    replaces: 'nothing' as const,
  }));
  await writeActivityResults(clickhouse, 'user-activity-1m', results, { retry: false, token: randomUUID() });
  await recordWatermarks(clickhouse, [{ topology: 'user-activity-1m', partition: 0, watermark: T + 2 * 3_600_000, openWindows: 0, lateEvents: 0 }]);
}

function read(path: string, key: string) {
  return api.app.request(path, { headers: { authorization: `Bearer ${key}` } });
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('GET /users/:user_id', () => {
  it('answers the latest traits, the linked ids with when, first and last seen over the user and its links', async () => {
    expect(await json<User>(await read('/users/u1', keys.alpha), 200)).toEqual({
      user_id: 'u1',
      project_id: 'alpha',
      traits: { plan: 'pro', email: 'u1@alpha' },
      linked_ids: [
        { id: 'anon-1', linked_at: iso(T + 2_000) },
        { id: 'anon-2', linked_at: iso(T + 5_000) },
      ],
      first_seen: iso(T - 60_000),
      last_seen: iso(T + 5_000),
    });
  });

  it("takes each trait's value from the identify latest in event time, not in arrival", async () => {
    expect(await json<User>(await read('/users/u2', keys.alpha), 200)).toMatchObject({ traits: { plan: 'late', seats: 3 }, linked_ids: [] });
  });

  it("never shows another project's user: beta's key sees beta's u1 alone, and alpha's u2 not at all", async () => {
    expect(await json<User>(await read('/users/u1', keys.beta), 200)).toMatchObject({
      project_id: 'beta',
      traits: { plan: 'beta-secret' },
      linked_ids: [{ id: 'anon-1' }],
      first_seen: iso(T),
      last_seen: iso(T + 2_000),
    });
    expect(await json<ErrorBody>(await read('/users/u2', keys.beta), 404)).toMatchObject({ error: { code: 'not_found' } });
    expect(await json<ErrorBody>(await read('/users/u1?project_id=alpha', keys.beta), 403)).toMatchObject({ error: { code: 'forbidden' } });
    expect(await json<ErrorBody>(await read('/users/nobody', keys.alpha), 404)).toMatchObject({ error: { code: 'not_found' } });
    expect((await read('/users/u1', keys.alphaStats)).status).toBe(403); // needs events:read
  });
});

describe('/activities?include_linked=true', () => {
  const ids = (page: ActivitiesPage) => page.events.map((e) => e.event_id).sort();
  const of = (events: TrackedEvent[]) => events.map((e) => e.event_id).sort();

  it("adds the events sent under the user's linked ids, before and after the link, and nothing of the other project", async () => {
    const plain = await json<ActivitiesPage>(await read('/activities?user_id=u1', keys.alpha), 200);
    expect(ids(plain)).toEqual(of(seeded.alpha.filter((e) => e.user_id === 'u1')));
    const linked = await json<ActivitiesPage>(await read('/activities?user_id=u1&include_linked=true', keys.alpha), 200);
    expect(ids(linked)).toEqual(of(seeded.alpha.filter((e) => ['u1', 'anon-1', 'anon-2'].includes(e.user_id))));
    const beta = await json<ActivitiesPage>(await read('/activities?user_id=u1&include_linked=true', keys.beta), 200);
    expect(ids(beta)).toEqual(of(seeded.beta.filter((e) => ['u1', 'anon-1'].includes(e.user_id))));
  });

  it('refuses include_linked without user_id, and for a token confined to a user', async () => {
    expect(await json<ErrorBody>(await read('/activities?include_linked=true', keys.alpha), 400)).toMatchObject({ error: { details: [{ field: 'include_linked' }] } });
    expect((await read('/activities?user_id=u1&include_linked=yes', keys.alpha)).status).toBe(400);
    const eleven = Array.from({ length: 11 }, (_, i) => `user_id=u${i}`).join('&');
    expect(await json<ErrorBody>(await read(`/activities?${eleven}&include_linked=true`, keys.alpha), 400)).toMatchObject({
      error: { details: [{ field: 'include_linked', expected: 'at most 10 user_id values with include_linked' }] },
    });
    const token = await new SignJWT({ project_id: 'alpha', scope: 'events:read', user_id: 'u1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('streamtrack')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(alphaSecret));
    expect((await read('/activities?user_id=u1', token)).status).toBe(200);
    expect(await json<ErrorBody>(await read('/activities?user_id=u1&include_linked=true', token), 403)).toMatchObject({ error: { code: 'forbidden' } });
    expect(await json<User>(await read('/users/u1', token), 200)).toMatchObject({ traits: { plan: 'pro' }, linked_ids: [] });
  });
});

describe('/stats/users/:user_id?include_linked=true', () => {
  const RANGE = `from=${iso(T - 3_600_000)}&to=${iso(T + 3_600_000)}&granularity=1m`;
  interface Series {
    final: boolean;
    linked_ids?: string[];
    series: Array<{ start: string; events: number; final: boolean }>;
  }
  const total = (body: Series) => body.series.reduce((sum, p) => sum + p.events, 0);

  it("sums the linked ids' windows, those closed before the link as the rest, final as they were, and never caches the answer", async () => {
    const plain = await read(`/stats/users/u1?${RANGE}`, keys.alpha);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=300');
    expect(total(await json<Series>(plain, 200))).toBe(seeded.alpha.filter((e) => e.user_id === 'u1').length);

    const response = await read(`/stats/users/u1?${RANGE}&include_linked=true`, keys.alpha);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('etag')).toBeNull();
    const linked = await json<Series>(response, 200);
    expect(linked.linked_ids).toEqual(['anon-1', 'anon-2']);
    expect(total(linked)).toBe(seeded.alpha.filter((e) => ['u1', 'anon-1', 'anon-2'].includes(e.user_id)).length);
    expect(linked.final).toBe(true);
    expect(linked.series.every((p) => p.final)).toBe(true);
    // anon-2's window, a minute before anything of u1's: in the answer with the link only.
    expect(linked.series[0]).toMatchObject({ start: iso(T - 60_000), events: 1 });
  });
});
