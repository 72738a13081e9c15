/**
 * Waiting on a condition, never on a fixed sleep. A wait that times out says
 * why in its message: the last error the probe threw, or the last value it
 * returned that did not meet the condition, whichever came last (a timeout
 * that only says "timed out" sends its reader to rerun the test with logs).
 */
import { inspect } from 'node:util';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the timeout's message. */
  what?: string;
}

type LastFailure = { kind: 'none' } | { kind: 'error'; error: unknown } | { kind: 'value'; value: unknown };

/** The probe's last failure in a line or so: enough to see how far the condition was. */
function describeFailure(last: LastFailure): string {
  if (last.kind === 'none') return 'the probe never completed';
  if (last.kind === 'error') {
    const error = last.error;
    return `last error: ${error instanceof Error ? `${error.name}: ${error.message}` : inspect(error, { depth: 2, breakLength: Infinity })}`;
  }
  return `last value: ${inspect(last.value, { depth: 4, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 500 })}`;
}

/**
 * Resolves with the probe's value once `accept` holds for it. Each probe runs
 * to its end before the next (none overlap), then waits `intervalMs`.
 */
export async function waitUntil<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: LastFailure = { kind: 'none' };
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = { kind: 'value', value };
    } catch (error) {
      last = { kind: 'error', error };
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${attempts} attempts); ${describeFailure(last)}`, {
        cause: last.kind === 'error' ? last.error : undefined,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves with the probe's first value other than `undefined` (which means "not yet"). */
export function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions = {}): Promise<T> {
  return waitUntil(probe, (value): value is T => value !== undefined, options) as Promise<T>;
}
