/**
 * A Server-Sent Events reader over fetch (so it can send Authorization, as
 * the UI does): the events as they arrive, kept for the test to look at.
 */
import { parseSseBlock, sseBlocks, type SseEvent } from '../ui/src/sse-block.js';

export interface SseConnection {
  status: number;
  /** The body of a refused request (not a stream). */
  refusal: unknown;
  events: SseEvent[];
  /** Parsed `data` of the `event` events. */
  records<T>(): T[];
  close(): void;
  /** Resolves when the stream ended (closed by either side). */
  ended: Promise<void>;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  const connection: SseConnection = {
    status: response.status,
    refusal: undefined,
    events,
    records: <T>() => events.filter((e) => e.type === 'event').map((e) => JSON.parse(e.data) as T),
    close: () => controller.abort(),
    ended: Promise.resolve(),
  };
  if (response.status !== 200 || !response.body) {
    connection.refusal = await response.json().catch(() => undefined);
    return connection;
  }
  const body = response.body;
  connection.ended = (async () => {
    try {
      for await (const blocks of sseBlocks(body)) {
        for (const block of blocks) {
          const event = parseSseBlock(block);
          if (event) events.push(event);
        }
      }
    } catch {
      // Aborted by close(): the end of the stream for the test.
    }
  })();
  return connection;
}
