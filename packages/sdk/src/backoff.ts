/**
 * How long to wait before the next attempt: exponential backoff with full
 * jitter (a uniform draw in [0, min(cap, base * 2^failures)]), so many
 * clients failing together do not retry together; never less than the
 * server's Retry-After, which itself is capped, so a hostile or broken
 * answer cannot park the queue for days.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** The longest Retry-After honoured. */
  maxRetryAfterMs: number;
}

export function retryDelay(failures: number, policy: BackoffPolicy, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(failures, 30));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // Only the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`): Date.parse reads "-3" as a year.
  const at = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
