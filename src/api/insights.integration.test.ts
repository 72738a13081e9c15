/**
 * GET /insights in keys mode against the real services: a key reads its own
 * project's numbers only (never another's, whatever it names), scopes and
 * user-confined credentials are enforced, final answers are cacheable, and
 * hostile parameters are refused with a 400 naming the parameter before any
 * query runs, leaving the data and the process as they were.
 * (Answers against ground truth: insights-truth.integration.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { waitFor } from '../../testing/wait-for.js';
import { storeAndFold } from '../../testing/windowed-load.js';
import { createKeyStore } from '../auth/key-store.js';
import { messageDefaults, type TrackedEvent } from '../model/event.js';
import { createClickHouse, type ClickHouseClient } from '../storage/clickhouse.js';
import type { ErrorBody } from './errors.js';

const config = isolatedConfig(inject('services'), { STREAMTRACK_AUTH: 'keys', AUTH_REFRESH_MS: '200', API_READ_REQUESTS_PER_SECOND: '1000' });
const START = Date.parse('2026-04-01T00:00:00Z');
const RANGE = `from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z`;
let api: InProcessApi;
let clickhouse: ClickHouseClient;
const keys = { alpha: '', alphaEvents: '', beta: '', gamma: '' };

function event(project: string, user: string, action: string, at: number, properties: TrackedEvent['properties'] = {}): TrackedEvent {
  return { event_id: randomUUID(), project_id: project, user_id: user, action, timestamp: at, sent_at: null, received_at: at, session_id: null, properties, context: null, warnings: [], ...messageDefaults() };
}

/** alpha: 10 users view then buy; beta: 3 users, 20 views each, and a property of its own. */
const events = [
  ...Array.from({ length: 10 }, (_, u) => [
    event('alpha', `a${u}`, 'view', START + u * 60_000, { plan: 'pro' }),
    event('alpha', `a${u}`, 'buy', START + u * 60_000 + 30_000, { amount: 10 }),
  ]).flat(),
  ...Array.from({ length: 60 }, (_, i) => event('beta', `b${i % 3}`, 'view', START + i * 1_000, { secret_beta_prop: 'x' })),
  event('beta', 'closer', 'view', START + 2 * 86_400_000),
].sort((a, b) => a.timestamp - b.timestamp);

beforeAll(async () => {
  api = await inProcessApi(config);
  clickhouse = createClickHouse(config.clickhouse);
  const store = createKeyStore(clickhouse);
  await store.createProject('alpha');
  await store.createProject('beta');
  await store.createProject('gamma');
  keys.alpha = (await store.createKey('alpha', ['stats:read'])).key;
  keys.alphaEvents = (await store.createKey('alpha', ['events:read'])).key;
  keys.beta = (await store.createKey('beta', ['stats:read'])).key;
  keys.gamma = (await store.createKey('gamma', ['stats:read'])).key;
  await storeAndFold(config, clickhouse, events);
  await waitFor(async () => ((await read(`/insights/properties`, keys.gamma)).status === 200 ? true : undefined), { timeoutMs: 10_000, what: 'keys loaded' });
});
afterAll(async () => {
  await clickhouse?.close();
  await api?.close();
});

const read = (path: string, key?: string, headers: Record<string, string> = {}) =>
  api.app.request(path, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } });

async function answer<T>(path: string, key: string): Promise<T> {
  const response = await read(path, key);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

interface Trend {
  series: Array<{ key: string | null; points: Array<{ value: number }> }>;
}
const total = (t: Trend) => t.series.flatMap((s) => s.points).reduce((sum, p) => sum + p.value, 0);

describe('project isolation', () => {
  it("gives each key its own project's numbers on every route", async () => {
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}`, keys.alpha))).toBe(20);
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}`, keys.beta))).toBe(60);
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}&measure=uniques`, keys.beta))).toBe(3);
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}&where=plan:pro&breakdown=property:plan`, keys.beta))).toBe(0);
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}&measure=sum&property=amount`, keys.alpha))).toBe(100);
    const funnel = await answer<{ steps: Array<{ users: number }> }>(`/insights/funnels?${RANGE}&step=view&step=buy`, keys.alpha);
    expect(funnel.steps.map((s) => s.users)).toEqual([10, 10]);
    const betaFunnel = await answer<{ steps: Array<{ users: number }> }>(`/insights/funnels?${RANGE}&step=view&step=buy`, keys.beta);
    expect(betaFunnel.steps.map((s) => s.users)).toEqual([3, 0]);
    const cohorts = await answer<{ cohorts: Array<{ users: number }> }>(`/insights/retention?${RANGE}&first=view&return=buy&period=day`, keys.beta);
    expect(cohorts.cohorts.map((c) => c.users)).toEqual([3]);
    const sessions = await answer<{ points: Array<{ sessions: number }> }>(`/insights/sessions?${RANGE}`, keys.alpha);
    expect(sessions.points.reduce((n, p) => n + p.sessions, 0)).toBe(10);
    const properties = await answer<{ actions: Array<{ action: string; properties: Array<{ name: string }> }> }>('/insights/properties', keys.alpha);
    expect(properties.actions.flatMap((a) => a.properties.map((p) => `${a.action}.${p.name}`)).sort()).toEqual(['buy.amount', 'view.plan']);
  });

  it('refuses another project named by a key (403), a key without stats:read (403) and no key (401)', async () => {
    for (const path of ['/insights/trends', '/insights/funnels', '/insights/retention', '/insights/sessions']) {
      const params = path.endsWith('funnels') ? '&step=view&step=buy' : path.endsWith('retention') ? '&first=view&return=buy' : '';
      expect((await read(`${path}?${RANGE}${params}&project_id=beta`, keys.alpha)).status).toBe(403);
      expect((await read(`${path}?${RANGE}${params}`, keys.alphaEvents)).status).toBe(403);
      expect((await read(`${path}?${RANGE}${params}`)).status).toBe(401);
    }
    expect((await read('/insights/properties?project_id=beta', keys.alpha)).status).toBe(403);
  });

  it('answers a project with no events at once, with zeros', async () => {
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}&breakdown=action`, keys.gamma))).toBe(0);
    const funnel = await answer<{ steps: Array<{ users: number; conversion_from_first: number }> }>(`/insights/funnels?${RANGE}&step=view&step=buy`, keys.gamma);
    expect(funnel.steps).toMatchObject([{ users: 0, conversion_from_first: 0 }, { users: 0, conversion_from_first: 0 }]);
    expect(await answer(`/insights/properties`, keys.gamma)).toEqual({ actions: [], truncated: false });
  });

  it('tags a final answer and answers 304 to its ETag', async () => {
    const first = await read(`/insights/trends?${RANGE}&measure=uniques&breakdown=action`, keys.alpha);
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = first.headers.get('etag')!;
    expect((await read(`/insights/trends?${RANGE}&measure=uniques&breakdown=action`, keys.alpha, { 'if-none-match': etag })).status).toBe(304);
  });
});

const SQL = encodeURIComponent("amount') FROM events; DROP TABLE events; --");

const attacks: Array<{ name: string; path: string; field: string }> = [
  { name: 'a huge top N', path: `/insights/trends?${RANGE}&breakdown=action&top=1000000`, field: 'top' },
  { name: 'a top N times too many buckets', path: '/insights/trends?from=2026-04-01T00:00:00Z&to=2026-04-03T00:00:00Z&granularity=1m&breakdown=action&top=50', field: 'top' },
  { name: '11 steps', path: `/insights/funnels?${RANGE}${'&step=view'.repeat(11)}`, field: 'step' },
  { name: 'one step', path: `/insights/funnels?${RANGE}&step=view`, field: 'step' },
  { name: 'a window of 10 years', path: `/insights/funnels?${RANGE}&step=view&step=buy&window=315360000`, field: 'window' },
  { name: 'a funnel over a year', path: '/insights/funnels?from=2025-04-01T00:00:00Z&to=2026-04-01T00:00:00Z&step=view&step=buy', field: 'to' },
  { name: 'a minute trend over a month', path: '/insights/trends?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&granularity=1m', field: 'to' },
  { name: 'a filtered trend over 93 days', path: '/insights/trends?from=2026-01-01T00:00:00Z&to=2026-04-01T00:00:00Z&where=plan:pro', field: 'to' },
  { name: 'a daily retention over 2 months', path: '/insights/retention?from=2026-02-01T00:00:00Z&to=2026-04-01T00:00:00Z&first=a&return=b&period=day', field: 'to' },
  { name: 'an unknown measure', path: `/insights/trends?${RANGE}&measure=median`, field: 'measure' },
  { name: 'a numeric measure without a property', path: `/insights/trends?${RANGE}&measure=p99`, field: 'property' },
  { name: 'SQL in a property name', path: `/insights/trends?${RANGE}&measure=sum&property=${SQL}`, field: 'property' },
  { name: 'SQL in a filter name', path: `/insights/trends?${RANGE}&where=${SQL}:1`, field: 'where' },
  { name: 'SQL in a breakdown', path: `/insights/trends?${RANGE}&breakdown=property:${SQL}`, field: 'breakdown' },
  { name: 'SQL in a step filter', path: `/insights/funnels?${RANGE}&step=view&step=buy|${SQL}:1`, field: 'step' },
  { name: 'an empty project', path: `/insights/trends?${RANGE}&project_id=`, field: 'project_id' },
  { name: 'a missing range', path: '/insights/sessions', field: 'from' },
  { name: 'an unknown parameter', path: `/insights/retention?${RANGE}&first=a&return=b&cohort=1`, field: 'cohort' },
];

describe('hostile parameters', () => {
  it.each(attacks)('$name: 400 on $field, in milliseconds', async ({ path, field }) => {
    const started = performance.now();
    const response = await read(path, keys.alpha);
    const elapsed = performance.now() - started;
    const body = (await response.json()) as ErrorBody;
    expect(response.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('invalid_parameter');
    expect(body.error.details?.map((d) => d.field)).toContain(field);
    // Refused before any query: no ClickHouse round trip stands behind this answer.
    expect(elapsed).toBeLessThan(1_000);
  });

  it('treats SQL in values as text: nothing matches, nothing is harmed', async () => {
    const value = encodeURIComponent("x' OR 1=1; DROP TABLE events; --");
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}&where=plan:${value}`, keys.alpha))).toBe(0);
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}&action=${value}`, keys.alpha))).toBe(0);
    const funnel = await answer<{ steps: Array<{ users: number }> }>(`/insights/funnels?${RANGE}&step=${value}&step=buy|plan:${value}`, keys.alpha);
    expect(funnel.steps.map((s) => s.users)).toEqual([0, 0]);
    const stored = await clickhouse.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' });
    expect(Number((await stored.json<{ n: string }>())[0]!.n)).toBe(events.length);
    expect(total(await answer<Trend>(`/insights/trends?${RANGE}`, keys.alpha))).toBe(20);
  });
});
