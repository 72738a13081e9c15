/**
 * The SDK in a web page: the queue and the ids in localStorage (the queue
 * survives reloads and offline periods), a flush by navigator.sendBeacon
 * (else a keepalive fetch) when the page is hidden or unloaded, a retry as
 * soon as the browser is back online, and an optional automatic `page`.
 *
 * Events sent by beacon stay queued: a beacon has no answer, so they are
 * sent again, same ids, when the page is visible again or on the next load,
 * and leave the queue on that answer. The server stores an event id once.
 */
import { Client, type Item, type Options, type Persistence, type StreamTrack } from './client.js';
import type { WireEvent } from './events.js';
import { batchBody } from './transport.js';

export type { DeliveryResult, EventError, Options, Properties, StreamTrack, TrackOptions, WireEvent } from './client.js';

export interface BrowserOptions extends Options {
  /** Send a `page` event when the SDK starts (default false). */
  autoPage?: boolean;
  /** Prefix of the localStorage keys (default `streamtrack`): `<prefix>.queue`, `.anonymous_id`, `.user_id`. */
  storagePrefix?: string;
}

/** The few browser objects used, typed here so the SDK compiles without the DOM library. */
interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}
interface BrowserGlobals {
  localStorage?: Storage;
  navigator?: { sendBeacon?(url: string, data: string): boolean; userAgent?: string; language?: string };
  location?: { href: string; pathname: string; search: string };
  document?: { visibilityState: string; title: string; referrer: string; addEventListener(type: string, listener: () => void): void };
  addEventListener?(type: string, listener: () => void): void;
}
const web = globalThis as unknown as BrowserGlobals;

function storage(): Storage | undefined {
  try {
    return web.localStorage ?? undefined; // reading it throws where storage is blocked
  } catch {
    return undefined;
  }
}

function isItem(value: unknown): value is Item {
  if (typeof value !== 'object' || value === null) return false;
  const { e, n } = value as { e?: Partial<WireEvent>; n?: unknown };
  return typeof n === 'number' && typeof e === 'object' && e !== null && typeof e.event_id === 'string' && typeof e.action === 'string' && typeof e.user_id === 'string';
}

/**
 * The queue in localStorage, merged on every write: ids another tab queued
 * are kept, ids this tab finished are removed, so tabs of one origin share
 * the queue without overwriting each other's events.
 */
export function localPersistence(prefix: string, maxItems: number): Persistence {
  const queueKey = `${prefix}.queue`;
  /** Ids this tab has held: absent from its queue now means finished here. */
  const known = new Set<string>();
  const read = (): Item[] => {
    try {
      const parsed: unknown = JSON.parse(storage()?.getItem(queueKey) ?? '[]');
      return Array.isArray(parsed) ? parsed.filter(isItem) : [];
    } catch {
      return []; // corrupt: started afresh, overwritten at the next write
    }
  };
  const memory = new Map<string, string | undefined>();
  return {
    loadQueue() {
      const items = read().slice(-maxItems);
      for (const item of items) known.add(item.e.event_id);
      return items;
    },
    saveQueue(items) {
      const mine = new Set(items.map((item) => item.e.event_id));
      const others = read().filter((item) => !known.has(item.e.event_id) && !mine.has(item.e.event_id));
      for (const id of known) if (!mine.has(id)) known.delete(id);
      for (const id of mine) known.add(id);
      const merged = others.concat(items).slice(-maxItems);
      storage()?.setItem(queueKey, JSON.stringify(merged));
    },
    get(name) {
      try {
        return storage()?.getItem(`${prefix}.${name}`) ?? memory.get(name);
      } catch {
        return memory.get(name);
      }
    },
    set(name, value) {
      memory.set(name, value);
      try {
        if (value === undefined) storage()?.removeItem(`${prefix}.${name}`);
        else storage()?.setItem(`${prefix}.${name}`, value);
      } catch {
        // full or blocked: the id lives in memory for this page
      }
    },
  };
}

export function createStreamTrack(options: BrowserOptions): StreamTrack {
  const client = new Client(options, {
    persistence: localPersistence(options?.storagePrefix ?? 'streamtrack', options?.maxQueueEvents ?? 1000),
    // The one type a cross-origin request may have without a preflight, and the one a beacon sends.
    contentType: 'text/plain;charset=UTF-8',
    visitor: true,
    context: () => {
      const context: { user_agent?: string; locale?: string; page_url?: string } = {};
      if (web.navigator?.userAgent) context.user_agent = web.navigator.userAgent.slice(0, 1000);
      if (web.navigator?.language) context.locale = web.navigator.language;
      if (web.location) context.page_url = web.location.href.slice(0, 2000);
      return context;
    },
    page: () => ({
      url: web.location?.href,
      path: web.location?.pathname,
      search: web.location?.search || undefined,
      title: web.document?.title || undefined,
      referrer: web.document?.referrer || undefined,
    }),
  });
  const { url } = client.transport;
  /** Ids sent by beacon since the page was last visible: not sent twice while hidden. */
  const beaconed = new Set<string>();

  const sendHidden = () => {
    try {
      const events = client.pending().filter((e) => !beaconed.has(e.event_id));
      let batch: WireEvent[] = [];
      let size = 200;
      const send = () => {
        if (batch.length === 0) return;
        const body = batchBody(batch, options.writeKey, Date.now());
        if (!web.navigator?.sendBeacon?.(url, body)) {
          void fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }).catch(() => undefined);
        }
        for (const e of batch) beaconed.add(e.event_id);
        batch = [];
        size = 200;
      };
      for (const event of events) {
        const eventSize = JSON.stringify(event).length + 1;
        if (size + eventSize > client.options.maxBatchBytes) send();
        batch.push(event);
        size += eventSize;
      }
      send();
    } catch {
      // guard: never into the host page
    }
  };

  web.document?.addEventListener('visibilitychange', () => {
    if (web.document?.visibilityState === 'hidden') sendHidden();
    else {
      beaconed.clear();
      void client.flush();
    }
  });
  web.addEventListener?.('pagehide', sendHidden);
  web.addEventListener?.('online', () => client.retryNow());
  if (options.autoPage) client.page();
  return client;
}
