/**
 * The SDK as users run it, against the real stack (API + worker + Kafka +
 * registry + ClickHouse, keys mode, a write key): headless Chromium loads a
 * page served here that uses the SDK's browser bundle, and a Node client
 * sends from this process. Every event is looked up in /activities by its
 * event_id, and each must be there exactly once: tracked normally, sent by
 * beacon as the page closes mid-batch, queued while the network is cut and
 * sent after, queued across a reload (sent by beacon and again after it).
 * Identity: a visitor who tracks anonymously, then identifies, is one user
 * in `GET /users` (traits, the anonymous id linked) and in `/activities`
 * with `include_linked=true`.
 *
 * The pages talk to the API through a recording proxy: what a closing page
 * sent, and how (beacon or fetch), is read from what reached the server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { browserBundle } from '../packages/sdk/scripts/build.js';
import { createStreamTrack } from '../packages/sdk/src/node.js';
import type { DeliveryResult } from '../packages/sdk/src/client.js';
import { runCli } from '../testing/cli.js';
import { initialize } from '../testing/deployment.js';
import { freePort, spawnStreamtrack, type StreamtrackProcess } from '../testing/processes.js';
import { recordingProxy, type RecordingProxy, type TrackRequest } from '../testing/recording-proxy.js';
import { isolatedEnv, roleEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';

let api: StreamtrackProcess;
let worker: StreamtrackProcess;
let base: string;
let writeKey: string;
let readKey: string;
let proxy: RecordingProxy;
let pages: Server;
let pageBase: string;
let browser: Browser;

/** The page: the bundle as a module, its options from the query string, its results kept for the test. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>SDK test</title>
<script type="module">
  import { createStreamTrack } from '/sdk.js';
  const query = new URLSearchParams(location.search);
  window.results = [];
  window.st = createStreamTrack({
    writeKey: query.get('key'),
    host: query.get('host'),
    flushAt: Number(query.get('flushAt') ?? 20),
    flushIntervalMs: Number(query.get('interval') ?? 60000),
    backoff: { baseMs: 200, capMs: 1000 },
    onResult: (r) => window.results.push(r),
  });
  window.ready = true;
</script>`;

interface PageWindow {
  st: {
    track(action: string, properties?: Record<string, unknown>): string;
    identify(userId: string, traits?: Record<string, unknown>): string;
    page(name?: string): string;
    pending(): Array<{ event_id: string }>;
    flush(): Promise<void>;
    anonymousId: string;
  };
  results: DeliveryResult[];
  ready: boolean;
}

async function servePages(): Promise<void> {
  const bundle = await browserBundle();
  pages = createServer((request, response) => {
    if (request.url?.startsWith('/sdk.js')) response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageBase = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const [port, opsPort] = [await freePort(), await freePort()];
  const services = inject('services');
  const env = isolatedEnv(services, {
    STREAMTRACK_AUTH: 'keys',
    API_PORT: String(port),
    API_OPS_PORT: String(opsPort),
    // The test polls /activities; the product's default of 20 reads/s per key would throttle the polling, not the SDK.
    API_READ_REQUESTS_PER_SECOND: '1000',
  });
  base = `http://127.0.0.1:${port}`;
  await initialize(services, env);
  await runCli(['projects', 'create', 'web'], env);
  [writeKey, readKey] = await Promise.all([
    runCli(['keys', 'create', '--project', 'web', '--scope', 'write'], env).then((r) => r.last),
    runCli(['keys', 'create', '--project', 'web', '--scope', 'events:read'], env).then((r) => r.last),
  ]);
  api = spawnStreamtrack('api', roleEnv(services, env, 'api'));
  worker = spawnStreamtrack('worker', roleEnv(services, env, 'worker'));
  await Promise.all([
    servePages(),
    recordingProxy(base).then((started) => (proxy = started)),
    waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: `API ready\n${api.output()}` }),
  ]);
  // The keys reach the API with its first load; a write with the new key proves it.
  await waitFor(
    async () => ((await fetch(`${base}/track`, { method: 'POST', headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' }, body: '{"user_id":"probe","action":"probe"}' })).status === 202 ? true : undefined),
    { timeoutMs: 30_000, what: 'the write key accepted' },
  );
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => pages?.close(resolve));
  await proxy?.close();
  const codes = await Promise.all([api?.stop(), worker?.stop()]);
  expect(codes, `exit codes of api and worker\n${worker?.output()}`).toEqual([0, 0]);
});

/** How many times each of `ids` is listed under `user`; resolves once every id is there. */
async function storedOnce(user: string, ids: string[]): Promise<void> {
  const counts = await waitFor(
    async () => {
      const response = await fetch(`${base}/activities?user_id=${encodeURIComponent(user)}&limit=1000`, { headers: { authorization: `Bearer ${readKey}` } });
      const { events } = (await response.json()) as { events: Array<{ event_id: string }> };
      const counts = new Map<string, number>();
      for (const e of events) counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
      return ids.every((id) => counts.has(id)) ? counts : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${ids.length} events of ${user} in /activities\n${worker.output()}` },
  );
  expect(Object.fromEntries(ids.map((id) => [id, counts.get(id)]))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
  expect([...counts.values()].every((n) => n === 1), 'no event listed twice').toBe(true);
}

interface UserAnswer {
  user_id: string;
  traits: Record<string, unknown>;
  linked_ids: Array<{ id: string; linked_at: string }>;
  first_seen: string;
  last_seen: string;
}

/** `GET /users/:user` once `until` holds of it (the identity views fill as the worker stores events). */
function userOnce(user: string, until: (answer: UserAnswer) => boolean): Promise<UserAnswer> {
  return waitFor(
    async () => {
      const response = await fetch(`${base}/users/${encodeURIComponent(user)}`, { headers: { authorization: `Bearer ${readKey}` } });
      if (response.status === 404) return undefined;
      expect(response.status).toBe(200);
      const answer = (await response.json()) as UserAnswer;
      return until(answer) ? answer : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `GET /users/${user}\n${worker.output()}` },
  );
}

interface Activity {
  event_id: string;
  type: string;
  user_id: string;
  anonymous_id: string | null;
  timestamp: string;
}

async function activities(query: string): Promise<Activity[]> {
  const response = await fetch(`${base}/activities?${query}&limit=1000`, { headers: { authorization: `Bearer ${readKey}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: Activity[] }).events;
}

const idsOf = (events: Activity[]) => events.map((e) => e.event_id).sort();

async function open(context: BrowserContext, query: Record<string, string> = {}): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${pageBase}/?${new URLSearchParams({ key: writeKey, host: proxy.url, ...query })}`);
  await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
  return page;
}

function track(page: Page, actions: string[]): Promise<string[]> {
  return page.evaluate((names) => names.map((name, i) => (globalThis as unknown as PageWindow).st.track(name, { i, page: 'sdk-test' })), actions);
}

const anonymousId = (page: Page) => page.evaluate(() => (globalThis as unknown as PageWindow).st.anonymousId);
const pendingIds = (page: Page) => page.evaluate(() => (globalThis as unknown as PageWindow).st.pending().map((e) => e.event_id));

/** Requests from the page to /track (fetches; Chromium does not report a closing page's beacons here), with their ids. */
function trackRequests(context: BrowserContext): Array<{ type: string; ids: string[] }> {
  const seen: Array<{ type: string; ids: string[] }> = [];
  context.on('request', (request: Request) => {
    if (request.method() !== 'POST' || !request.url().startsWith(`${proxy.url}/track`)) return;
    const body = JSON.parse(request.postData() ?? '{}') as { batch?: Array<{ event_id: string }> };
    seen.push({ type: request.resourceType(), ids: (body.batch ?? []).map((e) => e.event_id) });
  });
  return seen;
}

/** The `POST /track` requests that reached the API with any of `ids`, in order of arrival. */
const trackedWith = (ids: string[]): TrackRequest[] => proxy.tracked.filter((r) => r.ids.some((id) => ids.includes(id)));

/** Waits for the API to have answered `count` requests with any of `ids`; resolves with them. */
function trackedAtLeast(ids: string[], count: number, what: string): Promise<TrackRequest[]> {
  return waitFor(
    () => {
      const seen = trackedWith(ids);
      return seen.length >= count ? seen : undefined;
    },
    { timeoutMs: 30_000, what: `${what} (every /track seen: ${JSON.stringify(proxy.tracked.slice(-10))})` },
  );
}

describe('in Chromium', () => {
  it('tracks events from a page on another origin (text/plain: a CORS simple request) with each result reported', async () => {
    const context = await browser.newContext();
    const page = await open(context, { flushAt: '5' });
    const ids = await track(page, ['view', 'click', 'click', 'scroll', 'buy']);
    const results = await page.waitForFunction(() => {
      const r = (globalThis as unknown as PageWindow).results;
      return r.length === 5 ? r : undefined;
    });
    expect(((await results.jsonValue()) as DeliveryResult[]).map((r) => [r.event_id, r.status])).toEqual(ids.map((id) => [id, 'accepted']));
    await storedOnce(await anonymousId(page), ids);
    await context.close();
  });

  it('delivers by beacon the events of a page closed mid-batch: one batch in flight, one queued', async () => {
    const context = await browser.newContext();
    const page = await open(context, { flushAt: '2' });
    const user = await anonymousId(page);
    // The API stores the first batch but its answer waits: the batch is still in flight when the page closes.
    const release = proxy.holdAnswers((r) => r.via === 'fetch');
    try {
      const batch = await track(page, ['a', 'b']); // two: flushAt, they leave at once
      const [inFlight] = await trackedAtLeast(batch, 1, 'the batch of a and b at the API');
      expect(inFlight).toMatchObject({ via: 'fetch', ids: batch, status: 202 });
      const ids = [...batch, ...(await track(page, ['c']))]; // one beside the two in flight: it waits for company
      expect(await pendingIds(page)).toEqual(ids);
      const closing = proxy.mark();
      await page.close({ runBeforeUnload: true });
      // The closing page sends all it still holds, the unanswered batch with the queued event, in one beacon.
      const beacon = (await trackedAtLeast(ids, 2, 'the beacon of the closing page')).find((r) => r.via === 'beacon');
      expect(beacon).toMatchObject({ ids, status: 202 });
      expect(beacon?.arrival).toBeGreaterThanOrEqual(closing);
      await storedOnce(user, ids);
      expect(trackedWith(ids).map(({ via, ids }) => ({ via, ids })), 'nothing else sent').toEqual([{ via: 'fetch', ids: batch }, { via: 'beacon', ids }]);
    } finally {
      release();
    }
    await context.close();
  });

  it('keeps the events while the network is cut and delivers them once after it is restored', async () => {
    const context = await browser.newContext();
    const requests = trackRequests(context);
    const page = await open(context, { flushAt: '1' });
    const user = await anonymousId(page);
    await context.setOffline(true);
    const ids = await track(page, ['offline_1', 'offline_2', 'offline_3']);
    await waitFor(async () => (requests.length > 0 ? true : undefined), { what: 'a failed attempt while offline' });
    expect(await pendingIds(page)).toEqual(ids);
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).results.length)).toBe(0);

    await context.setOffline(false);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).results.length === 3, undefined, { timeout: 30_000 });
    expect(await pendingIds(page)).toEqual([]);
    await storedOnce(user, ids);
    await context.close();
  });

  it('delivers once a batch queued across a reload: by beacon as the page goes, confirmed by the next load', async () => {
    const context = await browser.newContext();
    const page = await open(context, { interval: '60000' });
    const user = await anonymousId(page);
    const ids = await track(page, ['before_reload_1', 'before_reload_2']);
    const reloading = proxy.mark();
    await page.reload();
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    expect(await anonymousId(page)).toBe(user);
    // Adopted from localStorage and sent at once: the answer confirms them.
    const results = await page.waitForFunction(() => {
      const r = (globalThis as unknown as PageWindow).results;
      return r.length === 2 ? r : undefined;
    });
    expect(((await results.jsonValue()) as DeliveryResult[]).map((r) => [r.event_id, r.status])).toEqual(ids.map((id) => [id, 'accepted']));
    expect(await pendingIds(page)).toEqual([]);
    await storedOnce(user, ids);
    // Sent twice, stored once: by beacon as the page went, by fetch after it came back.
    await trackedAtLeast(ids, 2, 'the beacon and the fetch of the reloaded page');
    const sent = trackedWith(ids);
    expect(sent.every((r) => r.arrival >= reloading), 'nothing sent before the reload').toBe(true);
    expect(sent.map(({ via, ids, status }) => ({ via, ids, status })).sort((x, y) => x.via.localeCompare(y.via))).toEqual([
      { via: 'beacon', ids, status: 202 },
      { via: 'fetch', ids, status: 202 },
    ]);
    await context.close();
  });
  it('survives a corrupt queue and a full localStorage: no error in the page, events still delivered', async () => {
    const context = await browser.newContext();
    const errors: string[] = [];
    // Before the page's scripts: a queue that is not JSON, then every byte of the origin's quota taken.
    await context.addInitScript(() => {
      const storage = (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage;
      storage.setItem('streamtrack.queue', '{"e": [not json');
      const megabyte = 'x'.repeat(1 << 20);
      try {
        for (let i = 0; i < 64; i++) storage.setItem(`filler.${i}`, megabyte);
      } catch {
        // full
      }
      try {
        for (let i = 0; i < 1024; i++) storage.setItem(`filler.small.${i}`, 'x'.repeat(1024));
      } catch {
        // full to the last kilobyte
      }
    });
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${pageBase}/?${new URLSearchParams({ key: writeKey, host: proxy.url, flushAt: '3' })}`);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).ready === true);
    const user = await anonymousId(page);
    const ids = await track(page, ['full_1', 'full_2', 'full_3']);
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).results.length === 3);
    await storedOnce(user, ids);
    expect(errors).toEqual([]);
    // The storage really is full: a write of 4 KB, less than the three events' queue, is refused.
    const full = await page.evaluate(() => {
      try {
        (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('probe', 'x'.repeat(4096));
        return false;
      } catch {
        return true;
      }
    });
    expect(full).toBe(true);
    await context.close();
  });

  it('links a visitor who tracked anonymously to the user they identify as: GET /users and include_linked', async () => {
    const context = await browser.newContext();
    const page = await open(context, { flushAt: '1' });
    const anonymous = await anonymousId(page);
    const userId = `buyer-${anonymous.slice(-12)}`;
    const anonymousIds = [await page.evaluate(() => (globalThis as unknown as PageWindow).st.page('Pricing')), ...(await track(page, ['viewed_plan', 'started_trial']))];
    const identified = await page.evaluate(
      (id) => {
        const { st } = globalThis as unknown as PageWindow;
        return [st.identify(id, { plan: 'pro', seats: 3, trial: true }), st.track('bought', { amount: 49 })];
      },
      userId,
    );
    await page.waitForFunction(() => (globalThis as unknown as PageWindow).results.length === 5, undefined, { timeout: 30_000 });
    await storedOnce(anonymous, anonymousIds);
    await storedOnce(userId, identified);

    const user = await userOnce(userId, (answer) => answer.linked_ids.length > 0 && Object.keys(answer.traits).length > 0);
    expect(user).toMatchObject({ user_id: userId, traits: { plan: 'pro', seats: 3, trial: true } });
    expect(user.linked_ids.map((link) => link.id)).toEqual([anonymous]);

    const linked = await activities(`user_id=${encodeURIComponent(userId)}&include_linked=true`);
    expect(idsOf(linked)).toEqual([...anonymousIds, ...identified].sort());
    expect(linked.find((e) => e.event_id === identified[0])).toMatchObject({ type: 'identify', user_id: userId, anonymous_id: anonymous });
    expect(linked.find((e) => e.event_id === anonymousIds[0])).toMatchObject({ type: 'page', user_id: anonymous, anonymous_id: anonymous });
    // The linked id's events count as the user's: first seen is the anonymous page view's.
    const times = linked.map((e) => Date.parse(e.timestamp));
    expect([Date.parse(user.first_seen), Date.parse(user.last_seen)]).toEqual([Math.min(...times), Math.max(...times)]);
    // Without the parameter, the user's own events alone.
    expect(idsOf(await activities(`user_id=${encodeURIComponent(userId)}`))).toEqual([...identified].sort());
    await context.close();
  });
});

describe('in Node', () => {
  it('sends to the real API; close() flushes what waits', async () => {
    const results: DeliveryResult[] = [];
    const st = createStreamTrack({ writeKey, host: base, flushAt: 100, flushIntervalMs: 60_000, flushOnSignals: false, onResult: (r) => results.push(r) });
    const ids = [st.identify('node-user', { plan: 'pro' }), st.track('job_done', { ms: 12 }), st.alias('node-user-2', 'node-user')];
    expect(results).toEqual([]);
    await st.close(10_000);
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    await storedOnce('node-user', ids.slice(0, 2) as string[]);
    await storedOnce('node-user-2', ids.slice(2) as string[]);
    // The alias links its previous id; a Node client's identify links nothing (its anonymous id is no visitor's).
    const aliased = await userOnce('node-user-2', (answer) => answer.linked_ids.length > 0 && Object.keys(answer.traits).length > 0);
    expect(aliased.linked_ids.map((link) => link.id)).toEqual(['node-user']);
    expect(aliased.traits).toEqual({ plan: 'pro' });
    expect((await userOnce('node-user', (answer) => Object.keys(answer.traits).length > 0)).linked_ids).toEqual([]);
  });
});
