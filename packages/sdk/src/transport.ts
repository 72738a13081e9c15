/**
 * One batch on the wire: `POST /track` with `{ batch, sent_at, write_key }`
 * and the answer read as an Answer. The write key travels in the body so a
 * browser's request stays a CORS "simple request" (text/plain, no
 * preflight) and the same bytes can go by navigator.sendBeacon. For the
 * same reason no `X-Schema-Version` is sent (a beacon cannot set it): the
 * server reads the events with its latest schema version, which must be v3
 * or later for the fields the SDK sends (`type`, `anonymous_id`, `traits`,
 * `name`).
 */
import { readAnswer, type Answer } from './answer.js';
import { parseRetryAfter } from './backoff.js';
import type { WireEvent } from './events.js';

export interface TransportOptions {
  url: string;
  writeKey: string;
  contentType: string;
  timeoutMs: number;
  /** The most answer bytes read: a server streaming garbage cannot fill the memory. */
  maxAnswerBytes: number;
}

export function batchBody(events: WireEvent[], writeKey: string, now: number): string {
  return JSON.stringify({ batch: events, sent_at: new Date(now).toISOString(), write_key: writeKey });
}

/** The answer's text, or undefined past `max` bytes (the rest is not read). */
async function readCapped(response: Response, max: number): Promise<string | undefined> {
  if (Number(response.headers.get('content-length')) > max || !response.body) {
    await response.body?.cancel();
    return undefined;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}

export async function postBatch(options: TransportOptions, events: WireEvent[], stop: AbortSignal): Promise<Answer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  const abort = () => controller.abort();
  stop.addEventListener('abort', abort);
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'Content-Type': options.contentType },
      body: batchBody(events, options.writeKey, Date.now()),
      signal: controller.signal,
      credentials: 'omit',
    });
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    const text = await readCapped(response, options.maxAnswerBytes);
    return readAnswer(response.status, text, retryAfter, events.length);
  } catch {
    const timedOut = controller.signal.aborted;
    // A timeout may have reached the server; no connection did not: only the first counts as an attempt.
    return { kind: 'retry', reason: timedOut ? 'timeout' : 'network', answered: timedOut };
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', abort);
  }
}
