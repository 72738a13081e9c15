/**
 * The Live page's stream, in a Web Worker: reading GET /live/events and
 * parsing thousands of events a second happen here, off the page's main
 * thread, which only receives the newest `shown` events every `renderMs`
 * (and notices as they come). So the page stays responsive however fast
 * events arrive.
 */
import type { Query, StoredEvent } from './api.js';
import { followLive } from './live-stream.js';

export type ToWorker = { type: 'start'; key: string | null; query: Query; shown: number; renderMs: number };

export type FromWorker =
  | { type: 'events'; newest: StoredEvent[]; received: number }
  | { type: 'notice'; text: string }
  | { type: 'status'; text: string }
  | { type: 'refused'; text: string };

const post = (message: FromWorker) => postMessage(message);

addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const { key, query, shown, renderMs } = e.data;
  let newest: StoredEvent[] = [];
  let received = 0;
  let changed = false;
  followLive(query, key, {
    events(events) {
      received += events.length;
      newest = [...events.slice(-shown).reverse(), ...newest].slice(0, shown);
      changed = true;
    },
    notice: (text) => post({ type: 'notice', text }),
    status: (state, detail) => post({ type: 'status', text: detail ? `${state}: ${detail}` : state }),
    refused: (text) => post({ type: 'refused', text }),
  });
  setInterval(() => {
    if (!changed) return;
    changed = false;
    post({ type: 'events', newest, received });
  }, renderMs);
});
