/**
 * Retrying a sink write with capped exponential backoff, for as long as the
 * work is still ours: a sink that is down (ClickHouse restarting) delays the
 * partition instead of failing it, and the consumer keeps its heartbeats.
 *
 * Errors are classed (storage/write-errors.ts). Rows a table refuses are
 * split out and moved aside below this level (insert-rows.ts), so what
 * reaches a retry is retriable; a deterministic error that still does (a
 * sink with nowhere to move its rows) is retried at the longest delay from
 * the start, since a quick retry cannot help, and reported as such.
 */
import { concatMap, defer, retry, throwError, timer, type Observable } from 'rxjs';
import { classifyWriteError, type WriteErrorClass } from '../storage/write-errors.js';

export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const SINK_BACKOFF: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: 10_000 };

/** Delay before retry number `attempt` (1-based): doubling, capped, with up to 20% jitter. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(base * (1 - 0.2 * random()));
}

export class AbandonedError extends Error {}

export function retryWhileOwned<T>(
  work: () => Promise<T>,
  options: {
    policy: BackoffPolicy;
    /** Still ours to retry? (false once the partition was revoked) */
    owned: () => boolean;
    /** Called before each wait, e.g. to log and to heartbeat. */
    onRetry: (error: unknown, attempt: number, kind: WriteErrorClass) => Promise<void> | void;
  },
): Observable<T> {
  return defer(work).pipe(
    retry({
      delay: (error: unknown, attempt) => {
        if (!options.owned()) {
          return throwError(() => new AbandonedError('partition revoked; leaving the batch to its new owner', { cause: error }));
        }
        const kind = classifyWriteError(error);
        const delay = kind === 'retriable' ? backoffDelay(options.policy, attempt) : options.policy.maxDelayMs;
        return defer(async () => options.onRetry(error, attempt, kind)).pipe(concatMap(() => timer(delay)));
      },
    }),
  );
}

/** A sink step retried while its batch is still ours; `what` names it in logs. */
export type Retried = <T>(what: string, work: () => Promise<T>) => Observable<T>;
