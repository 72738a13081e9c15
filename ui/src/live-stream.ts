/**
 * GET /live/events read with fetch (EventSource cannot send Authorization),
 * parsed as Server-Sent Events, reconnected after a drop with the last
 * event's id as Last-Event-ID, so nothing the server still holds is missed.
 */
import { authHeaders, explain, queryString, type Query, type StoredEvent } from './api.js';
import { parseSseBlock, sseBlocks } from './sse-block.js';

export interface LiveHandlers {
  events(events: StoredEvent[]): void;
  /** `dropped`: events the server dropped because this page read too slowly; `gap`: partitions it could not replay after a reconnect. */
  notice(text: string): void;
  status(state: 'connecting' | 'live' | 'retrying', detail?: string): void;
  /** A refusal that retrying will not cure (bad key, bad filter). */
  refused(text: string): void;
}

/** `key`: the signed-in key, passed in (this runs in a Web Worker, which has no sessionStorage). */
export function followLive(query: Query, key: string | null, handlers: LiveHandlers): () => void {
  const controller = new AbortController();
  let lastId: string | undefined;
  let attempt = 0;

  async function connect(): Promise<void> {
    handlers.status(attempt === 0 ? 'connecting' : 'retrying');
    const headers: Record<string, string> = { Accept: 'text/event-stream', ...authHeaders(key) };
    if (lastId !== undefined) headers['Last-Event-ID'] = lastId;
    const response = await fetch(`/live/events${queryString(query)}`, { headers, signal: controller.signal });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => undefined)) as { error?: { code: string; message: string; details?: [] } } | undefined;
      const text = explain(response.status, body?.error?.code ?? 'http_error', body?.error?.message ?? response.statusText, body?.error?.details);
      // Over a cap or unavailable: worth another try; anything else needs the person.
      if (response.status === 429 || response.status >= 500) throw new Error(text);
      handlers.refused(text);
      controller.abort();
      return;
    }
    for await (const blocks of sseBlocks(response.body)) {
      const batch: StoredEvent[] = [];
      for (const block of blocks) {
        const event = parseSseBlock(block);
        if (!event) continue;
        if (event.id !== undefined) lastId = event.id;
        if (event.type === 'event') batch.push(JSON.parse(event.data) as StoredEvent);
        else if (event.type === 'ready') {
          attempt = 0;
          handlers.status('live');
        } else if (event.type === 'dropped') {
          handlers.notice(`${(JSON.parse(event.data) as { dropped: number }).dropped} events were dropped: this page fell behind the stream.`);
        } else if (event.type === 'gap') {
          handlers.notice(`After the reconnection, some events could not be replayed (partitions ${(JSON.parse(event.data) as { partitions: number[] }).partitions.join(', ')}).`);
        }
      }
      if (batch.length > 0) handlers.events(batch);
    }
  }

  void (async () => {
    while (!controller.signal.aborted) {
      try {
        await connect();
      } catch (error) {
        if (controller.signal.aborted) return;
        handlers.status('retrying', (error as Error).message);
      }
      if (controller.signal.aborted) return;
      attempt++;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5))));
    }
  })();
  return () => controller.abort();
}
