/**
 * Capped exponential backoff with jitter: how long a step waits before its
 * next attempt (steps name their own policy, src/worker/steps/step.ts).
 */
export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Delay before retry number `attempt` (1-based): doubling, capped, with up to 20% jitter. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(base * (1 - 0.2 * random()));
}
