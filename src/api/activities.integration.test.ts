/**
 * GET /activities against the real ClickHouse engine with 200,000 seeded
 * events (2,000 users over 20 days): every filter against a ground truth
 * computed here, pagination across the
 * whole result set while new events arrive (no duplicates, no gaps), SQL
 * injection attempts as harmless literals, read-your-write, bad parameters,
 * the bounded range of a read without a user filter, the cap on concurrent
 * waits and a wait that stops polling when its client goes away (over a real
 * socket), and the event-id lookup at a size one URL cannot carry.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { waitFor } from '../../testing/wait-for.js';
import { listen } from '../http/listen.js';
import { messageDefaults, type TrackedEvent } from '../model/event.js';
import { createClickHouse, type ClickHouseClient } from '../storage/clickhouse.js';
import { insertEvents, storedEventPositions, toRow } from '../storage/events-table.js';
import type { ActivitiesPage } from './activities.js';
import { createConcurrencyLimit } from './concurrency-limit.js';
import type { ErrorBody } from './errors.js';

const config = isolatedConfig(inject('services'));
const DAY = 86_400_000;
const START = Date.parse('2026-03-01T00:00:00Z');
const EVENTS = 200_000;
const USERS = 2_000;
const DAYS = 20;
const HOUR = 3_600_000;
let api: InProcessApi;
let clickhouse: ClickHouseClient;
let offset = 0;
/** Queries the API's own ClickHouse client has sent. */
let apiQueries = 0;
const waits = createConcurrencyLimit(2);

function makeEvent(i: number, at: number): TrackedEvent {
  return {
    event_id: randomUUID(),
    project_id: 'default',
    user_id: `user_${i % USERS}`,
    action: ['view', 'click', 'buy'][i % 3]!,
    timestamp: at,
    sent_at: null,
    received_at: at,
    session_id: `s_${i % 7}`,
    properties: { plan: i % 4 === 0 ? 'pro' : 'free', seats: i % 5, trial: i % 2 === 0 },
    context: null,
    warnings: [],
    ...messageDefaults(),
  };
}

async function seed(events: TrackedEvent[]) {
  await insertEvents(
    clickhouse,
    events.map((e) => toRow(e, { topic: 't', partition: 0, offset: String(offset++) }, 2)),
    randomUUID(),
  );
}

const seeded = Array.from({ length: EVENTS }, (_, i) => makeEvent(i, START + Math.floor((i / EVENTS) * DAYS * DAY)));
const SEED_CHUNK = 50_000;

beforeAll(async () => {
  api = await inProcessApi(config, {
    deps: (real) => {
      const query = real.clickhouse.query.bind(real.clickhouse);
      real.clickhouse.query = ((params) => {
        apiQueries += 1;
        return query(params);
      }) as typeof query;
      return { waits };
    },
  });
  clickhouse = createClickHouse(config.clickhouse);
  for (let i = 0; i < seeded.length; i += SEED_CHUNK) await seed(seeded.slice(i, i + SEED_CHUNK));
});
afterAll(async () => {
  await clickhouse?.close();
  await api?.close();
});

async function get(query: string) {
  return api.app.request(`/activities?${query}`);
}

async function page(query: string): Promise<ActivitiesPage> {
  const response = await get(query);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ActivitiesPage;
}

/** Every page of a query, following next_cursor. */
async function allPages(query: string, during?: () => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const result: ActivitiesPage = await page(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
    ids.push(...result.events.map((e) => e.event_id));
    cursor = result.next_cursor;
    await during?.();
  } while (cursor);
  return ids;
}

/** Event time within `hours` hours from START + `offsetMs`. */
const inHours = (e: TrackedEvent, offsetMs: number, hours: number) => e.timestamp >= START + offsetMs && e.timestamp < START + offsetMs + hours * HOUR;

const byTimeDesc = (a: TrackedEvent, b: TrackedEvent) => b.timestamp - a.timestamp || (a.event_id < b.event_id ? 1 : -1);

describe('filters', () => {
  const cases: Array<{ name: string; query: string; expected: (e: TrackedEvent) => boolean }> = [
    { name: 'one user', query: 'user_id=user_3', expected: (e) => e.user_id === 'user_3' },
    { name: 'two users', query: 'user_id=user_3&user_id=user_4', expected: (e) => ['user_3', 'user_4'].includes(e.user_id) },
    { name: 'actions of a user', query: 'action=buy&action=view&user_id=user_5', expected: (e) => e.action !== 'click' && e.user_id === 'user_5' },
    {
      name: 'a day (ISO and epoch ms): 10,000 events',
      query: `from=2026-03-02T00:00:00Z&to=${START + 2 * DAY}`,
      expected: (e) => e.timestamp >= START + DAY && e.timestamp < START + 2 * DAY,
    },
    { name: 'a session in an hour', query: `session_id=s_2&from=${START + 3 * DAY}&to=${START + 3 * DAY + HOUR}`, expected: (e) => e.session_id === 's_2' && inHours(e, 3 * DAY, 1) },
    { name: 'a string property over 6 hours', query: `properties.plan=pro&from=${START + 5 * DAY}&to=${START + 5 * DAY + 6 * HOUR}`, expected: (e) => e.properties.plan === 'pro' && inHours(e, 5 * DAY, 6) },
    { name: 'a number property over 6 hours', query: `properties.seats=3&from=${START + 7 * DAY}&to=${START + 7 * DAY + 6 * HOUR}`, expected: (e) => e.properties.seats === 3 && inHours(e, 7 * DAY, 6) },
    { name: 'a boolean property of a user', query: 'properties.trial=true&user_id=user_2', expected: (e) => e.properties.trial === true && e.user_id === 'user_2' },
  ];

  it.each(cases)('$name', async ({ query, expected }) => {
    const truth = seeded.filter(expected).sort(byTimeDesc).map((e) => e.event_id);
    expect(truth.length).toBeGreaterThan(0);
    expect(await allPages(`${query}&limit=1000`)).toEqual(truth);
  });

  it('answers an empty result with 200 and an empty list', async () => {
    expect(await page('user_id=nobody')).toEqual({ events: [], next_cursor: null });
  });

  it('returns every stored field, times in ISO-8601 UTC', async () => {
    const [event] = (await page('user_id=user_0&order=asc&limit=1')).events;
    expect(event).toEqual({
      event_id: seeded[0]!.event_id,
      project_id: 'default',
      user_id: 'user_0',
      action: 'view',
      timestamp: '2026-03-01T00:00:00.000Z',
      sent_at: null,
      received_at: '2026-03-01T00:00:00.000Z',
      session_id: 's_0',
      properties: { plan: 'pro', seats: 0, trial: true },
      context: null,
      warnings: [],
      type: 'track',
      anonymous_id: null,
      traits: {},
      name: null,
      message_id: null,
    });
  });
});

describe('pagination', () => {
  it('walks a whole day in both orders, with no duplicate and no gap while new events arrive', async () => {
    const range = `from=${START + DAY}&to=${START + 2 * DAY}`;
    const truth = seeded.filter((e) => inHours(e, DAY, 24)).sort(byTimeDesc);
    const arrived: TrackedEvent[] = [];
    // Newer events keep arriving while a client pages backwards in time (newer
    // than any in the day, still inside it): the pages after the first are
    // below the cursor, so they are unaffected.
    const newest = truth[0]!.timestamp;
    const desc = await allPages(`${range}&limit=137`, async () => {
      const event = makeEvent(arrived.length, newest + 1 + arrived.length);
      arrived.push(event);
      await seed([event]);
    });
    expect(arrived.length).toBeGreaterThan(70);
    expect(desc).toEqual(truth.map((e) => e.event_id));

    // Paging forwards later sees the day as it is now, arrivals at its end.
    const asc = await allPages(`order=asc&limit=250&${range}`);
    expect(asc).toEqual([...truth].reverse().concat(arrived).map((e) => e.event_id));
  });
});

describe('bad and hostile parameters', () => {
  // Over the seeded 20 days: without a user filter the range must be named.
  const seededRange = `&from=${START}&to=${START + DAYS * DAY}`;
  it.each([
    ["user_id=x' OR 1=1 --", 0],
    [`action=view%27)%20OR%20(1%3D1${seededRange}`, 0],
    [`properties.plan=' OR ''='${seededRange}`, 0],
    [`session_id=s_1%5C%27%3B%20DROP%20TABLE%20events%3B${seededRange}`, 0],
  ])('%s is a literal that matches nothing', async (query, count) => {
    expect((await page(query)).events).toHaveLength(count);
  });

  it('still has every event after the attempts', async () => {
    const result = await clickhouse.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' });
    const [row] = await result.json<{ n: string | number }>();
    expect(Number(row!.n)).toBe(offset);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['order=sideways', 'order'],
    ['from=yesterday', 'from'],
    ['from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'to'],
    ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['wait_for=not-a-uuid', 'wait_for'],
    ['limit=5&limit=6', 'limit'],
    ['user=ann', 'user'],
    ['properties.a=1&properties.b=1&properties.c=1&properties.d=1&properties.e=1&properties.f=1', 'properties'],
  ])('%s -> 400 naming %s', async (query, field) => {
    const response = await get(query);
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_parameter');
    expect(body.error.details?.map((d) => d.field)).toContain(field);
  });

  it('refuses a cursor made for the other order', async () => {
    const { next_cursor } = await page('user_id=user_0&limit=1');
    expect(next_cursor).not.toBeNull();
    const response = await get(`order=asc&limit=1&cursor=${next_cursor}`);
    expect(response.status).toBe(400);
  });
});

describe('a read without a user filter', () => {
  it('reads the last 7 days by default', async () => {
    const now = Date.now();
    // A user and action of their own: the other tests' reads do not see them.
    const recent = { ...makeEvent(0, now - HOUR), user_id: 'scan_user', action: 'scan_default' };
    const old = { ...makeEvent(1, now - 8 * DAY), user_id: 'scan_user', action: 'scan_default' };
    await seed([recent, old]);
    expect((await page('action=scan_default')).events.map((e) => e.event_id)).toEqual([recent.event_id]);
    // A user filter needs no range: the primary key bounds the read.
    expect((await page('action=scan_default&user_id=scan_user')).events.map((e) => e.event_id)).toEqual([recent.event_id, old.event_id]);
  });

  it('reads the 7 days before `to` when only `to` is given', async () => {
    // Days 8 to 15: the pagination test adds events to day 1.
    const truth = seeded.filter((e) => e.action === 'buy' && e.timestamp >= START + 8 * DAY && e.timestamp < START + 15 * DAY).sort(byTimeDesc);
    expect(await allPages(`action=buy&to=${START + 15 * DAY}&limit=1000`)).toEqual(truth.map((e) => e.event_id));
  });

  it('takes 31 days, and refuses more naming `from`', async () => {
    expect((await get(`from=${START}&to=${START + 31 * DAY}&limit=1`)).status).toBe(200);
    for (const query of [`from=${START}&to=${START + 31 * DAY + 1}`, `from=${START}`]) {
      const response = await get(query);
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error).toMatchObject({ code: 'invalid_parameter', details: [{ field: 'from', expected: expect.stringContaining('31 days') }] });
    }
  });
});

describe('wait_for long-polls', () => {
  it('refuses one over the cap at once with 429 and Retry-After, and takes one again once a slot is free', async () => {
    const held = [new AbortController(), new AbortController()];
    const waiting = held.map((controller) =>
      api.app.request(`/activities?wait_for=${randomUUID()}&wait_ms=10000&limit=1`, { signal: controller.signal }),
    );
    await waitFor(() => (waits.held() === 2 ? true : undefined), { what: 'two waits held' });
    const refused = await get(`wait_for=${randomUUID()}&wait_ms=10000&limit=1`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as ErrorBody).error.code).toBe('too_many_waits');
    // Without wait_for, reads are not capped.
    expect((await get('user_id=user_1&limit=1')).status).toBe(200);

    for (const controller of held) controller.abort();
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([408, 408]);
    expect(waits.held()).toBe(0);
    expect((await get(`wait_for=${randomUUID()}&wait_ms=0&limit=1`)).status).toBe(200);
  });

  it('stops polling as soon as the client disconnects (real socket)', async () => {
    const server = await listen(api.app, '127.0.0.1', 0, config.api.server);
    try {
      const controller = new AbortController();
      const before = apiQueries;
      const request = fetch(`http://127.0.0.1:${server.port}/activities?wait_for=${randomUUID()}&wait_ms=10000&limit=1`, { signal: controller.signal });
      request.catch(() => {}); // aborted below
      await waitFor(() => (apiQueries - before >= 3 ? true : undefined), { what: 'a few polls' });
      controller.abort();
      // Released long before wait_ms (10 s): the poll loop ended.
      await waitFor(() => (waits.held() === 0 ? true : undefined), { timeoutMs: 2_000, intervalMs: 20, what: 'the wait to end' });
      const after = apiQueries;
      // Nothing runs a query any more: a read of our own is the only one counted.
      expect((await get('user_id=user_1&limit=1')).status).toBe(200);
      expect(apiQueries).toBe(after + 1);
    } finally {
      await server.close();
    }
  });
});

describe('read-your-write', () => {
  it('waits for an event to be stored, then lists it', async () => {
    const late = makeEvent(1, START + 20 * DAY);
    const storing = new Promise((resolve) => setTimeout(resolve, 300)).then(() => seed([late]));
    const result = await page(`wait_for=${late.event_id}&wait_ms=5000&user_id=${late.user_id}&limit=1`);
    await storing;
    expect(result.waited).toMatchObject({ satisfied: true });
    expect(result.events[0]!.event_id).toBe(late.event_id);
  });

  it('says so when the wait ran out', async () => {
    const result = await page(`wait_for=${randomUUID()}&wait_ms=200&limit=1`);
    expect(result.waited).toMatchObject({ satisfied: false });
    expect(result.waited!.waited_ms).toBeGreaterThanOrEqual(200);
  });
});

describe('stored event positions (the lookup behind wait_for and the worker’s dedupe)', () => {
  it('answers for 60,000 ids at once, more than one URL can carry', async () => {
    const ids = seeded.slice(0, 60_000).map((e) => e.event_id);
    const positions = await storedEventPositions(clickhouse, [...ids, randomUUID()]);
    expect(positions.size).toBe(60_000);
    expect(positions.of('default', ids[59_999]!)).toBe('0:59999');
  });
});
