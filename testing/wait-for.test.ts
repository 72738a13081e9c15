import { describe, expect, it } from 'vitest';
import { waitFor, waitUntil } from './wait-for.js';

const fast = { timeoutMs: 30, intervalMs: 5 };

/** The error a wait rejected with (the test fails if it resolved). */
async function failureOf(wait: Promise<unknown>): Promise<Error> {
  const outcome = await wait.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('the wait did not fail with an Error');
  return outcome;
}

describe('waitUntil', () => {
  it('resolves with the first value the condition accepts', async () => {
    let n = 0;
    await expect(waitUntil(() => ++n, (v) => v === 3, fast)).resolves.toBe(3);
  });

  it('on timeout names what was awaited and the last unmet value', async () => {
    let n = 0;
    await expect(waitUntil(async () => ({ stored: ++n }), (v) => v.stored > 1_000, { ...fast, what: 'every event stored' })).rejects.toThrow(
      /^timed out after 30 ms waiting for every event stored \(\d+ attempts\); last value: \{ stored: \d+ \}$/,
    );
  });

  it('on timeout reports the last thrown error, and keeps it as the cause', async () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:8123');
    const failure = await failureOf(waitUntil(() => Promise.reject(refused), () => true, { ...fast, what: 'ClickHouse' }));
    expect(failure.message).toMatch(/waiting for ClickHouse \(\d+ attempts\); last error: Error: connect ECONNREFUSED 127\.0\.0\.1:8123$/);
    expect(failure.cause).toBe(refused);
  });

  it('reports whichever failure came last: a value after an error', async () => {
    let n = 0;
    const probe = () => {
      n += 1;
      if (n === 1) throw new Error('first attempt fails');
      return `attempt ${n}`;
    };
    const failure = await failureOf(waitUntil(probe, () => false, fast));
    expect(failure.message).toMatch(/last value: 'attempt \d+'$/);
    expect(failure.cause).toBeUndefined();
  });

  it('shortens a long value instead of flooding the report', async () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => i);
    const failure = await failureOf(waitUntil(() => rows, () => false, fast));
    expect(failure.message).toContain('... 980 more items');
  });
});

describe('waitFor', () => {
  it('resolves with the first defined value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 2 ? 'ready' : undefined), fast)).resolves.toBe('ready');
  });

  it('on timeout says the probe kept answering "not yet", or its last error', async () => {
    await expect(waitFor(() => undefined, { ...fast, what: 'the API ready' })).rejects.toThrow(/waiting for the API ready \(\d+ attempts\); last value: undefined$/);
    await expect(waitFor(() => Promise.reject(new TypeError('fetch failed')), fast)).rejects.toThrow(/last error: TypeError: fetch failed$/);
  });
});
