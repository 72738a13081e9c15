/**
 * The browser entry with the page's objects played by the test (localStorage,
 * document visibility, sendBeacon, online) and a real local HTTP server as
 * the API: the persisted queue across loads and tabs, what a full, blocked or
 * corrupt storage does, and the flush when the page is hidden. The real
 * browser runs in e2e/sdk-browser.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeApi } from '../test/fake-api.js';
import { createStreamTrack, type BrowserOptions } from './browser.js';
import type { DeliveryResult, StreamTrack } from './client.js';

class FakeStorage {
  readonly data = new Map<string, string>();
  full = false;
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    if (this.full) throw new Error('QuotaExceededError');
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

class FakePage {
  visibilityState = 'visible';
  title = 'Pricing';
  referrer = 'https://search.example/';
  readonly listeners = new Map<string, Array<() => void>>();
  addEventListener(type: string, listener: () => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  fire(type: string) {
    for (const listener of this.listeners.get(type) ?? []) listener();
  }
}

let api: FakeApi;
let storage: FakeStorage;
let page: FakePage;
let beacons: Array<{ url: string; body: string }>;
let results: DeliveryResult[];
let clients: StreamTrack[];

beforeEach(async () => {
  api = await new FakeApi().start();
  storage = new FakeStorage();
  page = new FakePage();
  beacons = [];
  results = [];
  clients = [];
  vi.stubGlobal('localStorage', storage);
  vi.stubGlobal('document', page);
  vi.stubGlobal('location', { href: 'https://shop.example/pricing?x=1', pathname: '/pricing', search: '?x=1' });
  // Node's own navigator has no sendBeacon; the page's is recorded and answers true as a browser does.
  vi.stubGlobal('navigator', {
    userAgent: 'TestBrowser/1.0',
    language: 'de-DE',
    sendBeacon: (url: string, body: string) => {
      beacons.push({ url, body });
      return true;
    },
  });
  vi.stubGlobal('addEventListener', (type: string, listener: () => void) => page.addEventListener(type, listener));
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close(0)));
  vi.unstubAllGlobals();
  await api.stop();
});

function load(options: Partial<BrowserOptions> = {}): StreamTrack {
  const c = createStreamTrack({ writeKey: 'st_wk_page', host: api.url, flushAt: 100, flushIntervalMs: 60_000, backoff: { baseMs: 10, capMs: 50 }, onResult: (r) => results.push(r), ...options });
  clients.push(c);
  return c;
}

const stored = () => JSON.parse(storage.getItem('streamtrack.queue') ?? '[]') as Array<{ e: { event_id: string } }>;

describe('the persisted queue', () => {
  it('survives a reload: the next load sends the same events, and they leave storage on the answer', async () => {
    const first = load();
    const ids = [first.track('a'), first.track('b')];
    expect(stored().map((i) => i.e.event_id)).toEqual(ids);
    const anonymous = first.anonymousId;

    const second = load({ flushIntervalMs: 10 });
    expect(second.anonymousId).toBe(anonymous);
    expect(second.pending().map((e) => e.event_id)).toEqual(ids);
    await second.flush();
    expect(api.ids()).toEqual(ids);
    expect(stored()).toEqual([]);
  });

  it('starts afresh from corrupt or foreign JSON, keeping only well-formed items', async () => {
    for (const text of ['{not json', '{"a":1}', '"text"', 'null', '[1,null,{"e":null,"n":0},{"e":{"event_id":5},"n":0}]']) {
      storage.data.set('streamtrack.queue', text);
      const st = load();
      expect(st.pending()).toEqual([]);
      st.track('after');
      await st.flush();
      await st.close(0);
    }
    expect(api.received).toHaveLength(5);
    expect(stored()).toEqual([]);
  });

  it('goes on in memory when storage is full, and never throws into the page', async () => {
    storage.full = true;
    const st = load();
    const ids = [st.track('a'), st.track('b')];
    expect(storage.data.has('streamtrack.queue')).toBe(false);
    await st.flush();
    expect(api.ids()).toEqual(ids);
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted']);
  });

  it('works where reading localStorage itself throws (storage blocked)', async () => {
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw new Error('SecurityError');
      },
    });
    try {
      const st = load();
      const id = st.track('a');
      expect(st.anonymousId).toBe(st.anonymousId);
      await st.flush();
      expect(api.ids()).toEqual([id]);
    } finally {
      Object.defineProperty(globalThis, 'localStorage', { configurable: true, writable: true, value: storage });
    }
  });

  it('shares the queue between tabs: neither overwrites the other, each removes only what it finished', async () => {
    const tabA = load();
    const tabB = load();
    const a = tabA.track('from_a');
    const b = tabB.track('from_b');
    expect(stored().map((i) => i.e.event_id)).toEqual([a, b]);
    await tabA.flush();
    expect(api.ids()).toEqual([a]);
    expect(stored().map((i) => i.e.event_id)).toEqual([b]);
  });

  it('bounds what it keeps to maxQueueEvents', () => {
    const st = load({ maxQueueEvents: 3 });
    for (let i = 0; i < 10; i++) st.track(`e${i}`);
    expect(stored()).toHaveLength(3);
    expect(results.filter((r) => r.status === 'dropped')).toHaveLength(7);
  });
});

describe('the page', () => {
  it('sends what waits by beacon when hidden (text/plain, the write key in the body), keeps it until an answer confirms it', async () => {
    const st = load();
    const ids = [st.track('a'), st.track('b')];
    page.visibilityState = 'hidden';
    page.fire('visibilitychange');
    page.fire('pagehide');
    expect(beacons).toHaveLength(1); // once, though two events said the page is going
    const body = JSON.parse(beacons[0]!.body) as { batch: Array<{ event_id: string }>; write_key: string; sent_at: string };
    expect(beacons[0]!.url).toBe(`${api.url}/track`);
    expect(body.write_key).toBe('st_wk_page');
    expect(body.batch.map((e) => e.event_id)).toEqual(ids);
    expect(stored().map((i) => i.e.event_id)).toEqual(ids);

    page.visibilityState = 'visible';
    page.fire('visibilitychange');
    await st.flush();
    expect(api.ids()).toEqual(ids);
    expect(stored()).toEqual([]);
  });

  it('falls back to a keepalive fetch when the beacon is refused', async () => {
    vi.stubGlobal('navigator', { sendBeacon: () => false });
    const st = load();
    const id = st.track('a');
    page.visibilityState = 'hidden';
    page.fire('visibilitychange');
    await new Promise<void>((resolve) => {
      const poll = () => (api.received.length > 0 ? resolve() : setTimeout(poll, 10));
      poll();
    });
    expect(api.received[0]!.contentType).toBe('text/plain;charset=UTF-8');
    expect(api.ids()).toEqual([id]);
  });

  it('splits a hidden flush into beacons of at most maxBatchBytes', () => {
    const st = load({ maxBatchBytes: 2_000 });
    for (let i = 0; i < 6; i++) st.track('e', { text: 'x'.repeat(600) });
    page.visibilityState = 'hidden';
    page.fire('visibilitychange');
    expect(beacons.length).toBeGreaterThan(2);
    for (const beacon of beacons) expect(beacon.body.length).toBeLessThanOrEqual(2_000);
    expect(beacons.flatMap((b) => (JSON.parse(b.body) as { batch: unknown[] }).batch)).toHaveLength(6);
  });

  it('records the page on start with autoPage, its context on every event', async () => {
    const st = load({ autoPage: true });
    await st.flush();
    const [event] = api.received[0]!.body.batch;
    expect(event).toMatchObject({ type: 'page', action: '$page', user_id: st.anonymousId, anonymous_id: st.anonymousId });
    expect(event!.name).toBeUndefined();
    expect(event!.properties).toEqual({ url: 'https://shop.example/pricing?x=1', path: '/pricing', search: '?x=1', title: 'Pricing', referrer: 'https://search.example/' });
    expect(event!.context).toEqual({ user_agent: 'TestBrowser/1.0', locale: 'de-DE', page_url: 'https://shop.example/pricing?x=1', library: { name: '@streamtrack/sdk', version: '0.1.0' } });
    expect(api.received[0]!.contentType).toBe('text/plain;charset=UTF-8');
  });

  it("links the visitor on identify: the anonymous id the page's events went under travels with the user id", async () => {
    const st = load();
    const anonymous = st.anonymousId;
    expect(storage.data.get('streamtrack.anonymous_id')).toBe(anonymous);
    st.track('browsed');
    st.identify('user-9', { plan: 'pro' });
    st.track('bought');
    await st.flush();
    const sent = api.received.flatMap((r) => r.body.batch);
    expect(sent.map((e) => [e.type, e.user_id, e.anonymous_id])).toEqual([
      ['track', anonymous, anonymous],
      ['identify', 'user-9', anonymous],
      ['track', 'user-9', anonymous],
    ]);
    expect(sent[1]!.traits).toEqual({ plan: 'pro' });
  });

  it('retries at once when the browser is back online', async () => {
    api.script = (request, index) => (index === 0 ? 'reset' : { status: 202, body: JSON.stringify({ accepted: 1, refused: 0, results: [{ index: 0, status: 'accepted', event_id: request.body.batch[0]!.event_id }] }) });
    const st = load({ backoff: { baseMs: 3_600_000, capMs: 3_600_000 } });
    st.track('a');
    await st.flush();
    expect(results).toEqual([]); // the network failed; the next attempt is up to an hour away
    page.fire('online');
    await new Promise<void>((resolve) => {
      const poll = () => (results.length > 0 ? resolve() : setTimeout(poll, 10));
      poll();
    });
    expect(results.map((r) => r.status)).toEqual(['accepted']);
  });
});
