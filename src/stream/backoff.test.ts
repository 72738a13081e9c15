import { describe, expect, it } from 'vitest';
import { lastValueFrom } from 'rxjs';
import { AbandonedError, backoffDelay, retryWhileOwned } from './backoff.js';

const FAST = { initialDelayMs: 1, maxDelayMs: 4 };

describe('backoffDelay', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000 };
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(policy, n, noJitter))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('jitters downwards by at most 20%', () => {
    expect(backoffDelay({ initialDelayMs: 100, maxDelayMs: 100 }, 1, () => 1)).toBe(80);
  });
});

describe('retryWhileOwned', () => {
  it('retries until the work succeeds, reporting each failure', async () => {
    let calls = 0;
    const reported: number[] = [];
    const result = await lastValueFrom(
      retryWhileOwned(
        async () => {
          calls += 1;
          if (calls < 3) throw new Error(`failure ${calls}`);
          return 'stored';
        },
        { policy: FAST, owned: () => true, onRetry: (_, attempt) => void reported.push(attempt) },
      ),
    );
    expect(result).toBe('stored');
    expect(reported).toEqual([1, 2]);
  });

  it('gives up with AbandonedError once the work is no longer ours', async () => {
    let owned = true;
    const attempt = lastValueFrom(
      retryWhileOwned(
        async () => {
          owned = false;
          throw new Error('sink down');
        },
        { policy: FAST, owned: () => owned, onRetry: () => undefined },
      ),
    );
    await expect(attempt).rejects.toBeInstanceOf(AbandonedError);
  });
});
