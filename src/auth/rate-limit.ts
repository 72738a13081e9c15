/**
 * Per-subject token buckets, in this process's memory: a limit is per API
 * replica (behind a load balancer spreading over N replicas, a key gets up to
 * N times its limit). A bucket holds one second of the rate and refills
 * continuously; a request costs its events (writes) or 1 (reads).
 *
 * A request dearer than a whole bucket (a batch larger than a second's
 * events) is admitted when the bucket is full and leaves it in debt, so the
 * rate over time still holds and no batch size is refused for good.
 *
 * The answer carries what the IETF RateLimit header fields need
 * (draft-ietf-httpapi-ratelimit-headers): the policy's quota and window, the
 * remaining quota and the seconds until it is whole again.
 */

export type LimitName = 'write' | 'read';

export interface LimitDecision {
  allowed: boolean;
  policy: LimitName;
  /** Quota per window. */
  quota: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the quota is whole again. */
  resetSeconds: number;
  /** When refused: seconds after which the same request would be admitted. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
  perSecond: number;
}

const WINDOW_SECONDS = 1;
const SWEEP_EVERY_MS = 60_000;

function refill(bucket: Bucket, t: number): number {
  return Math.min(bucket.perSecond * WINDOW_SECONDS, bucket.tokens + ((t - bucket.at) / 1000) * bucket.perSecond);
}

export function createRateLimiter(now: () => number = Date.now) {
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();

  /** Full buckets carry no information: dropped, so the map holds only subjects seen lately. */
  function sweep(t: number) {
    for (const [key, bucket] of buckets) if (refill(bucket, t) >= bucket.perSecond * WINDOW_SECONDS) buckets.delete(key);
    lastSweep = t;
  }

  return {
    take(subject: string, policy: LimitName, perSecond: number, cost: number): LimitDecision {
      const t = now();
      if (t - lastSweep > SWEEP_EVERY_MS) sweep(t);
      const key = `${policy}\u0000${subject}`;
      const capacity = perSecond * WINDOW_SECONDS;
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = { tokens: capacity, at: t, perSecond };
        buckets.set(key, bucket);
      } else {
        bucket.perSecond = perSecond;
        bucket.tokens = refill(bucket, t);
        bucket.at = t;
      }
      const needed = Math.min(cost, capacity);
      const allowed = bucket.tokens >= needed;
      if (allowed) bucket.tokens -= cost;
      return {
        allowed,
        policy,
        quota: capacity,
        windowSeconds: WINDOW_SECONDS,
        remaining: Math.max(0, Math.floor(bucket.tokens)),
        resetSeconds: Math.max(0, Math.ceil((capacity - bucket.tokens) / perSecond)),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((needed - bucket.tokens) / perSecond)),
      };
    },
    /** Subjects with a bucket that is not full (for tests and the metric). */
    size: () => buckets.size,
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** The IETF header fields of a decision: `RateLimit-Policy: "write";q=1000;w=1` and `RateLimit: "write";r=998;t=1`. */
export function rateLimitHeaders(decision: LimitDecision): Record<string, string> {
  return {
    'RateLimit-Policy': `"${decision.policy}";q=${decision.quota};w=${decision.windowSeconds}`,
    RateLimit: `"${decision.policy}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}
