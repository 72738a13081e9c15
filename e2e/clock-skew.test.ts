/**
 * One clock cannot break time: 300 devices whose clocks run 59 minutes fast
 * send first, then another user sends 10 events on time, to the same
 * partitions. The fast events move each partition's watermark only to when
 * they were received plus the grace, so the on-time events are not late:
 * that user's /stats counts all 10, and nothing is reported dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../testing/stack.js';
import { waitFor } from '../testing/wait-for.js';

const stack = new Stack();
beforeAll(() => stack.start(1));
afterAll(() => stack.stop());

async function track(body: unknown) {
  const response = await fetch(`${stack.base}/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(202);
}

describe('clients whose clocks run 59 minutes fast', () => {
  it('close none of the windows of the on-time events in their partitions', async () => {
    const ahead = Date.now() + 59 * 60_000;
    await track(Array.from({ length: 300 }, (_, i) => ({ user_id: `fast_clock_${i}`, action: 'tick', timestamp: ahead })));
    await waitFor(async () => ((await stack.count(`SELECT count() AS n FROM events WHERE action = 'tick'`)) === 300 ? true : undefined), {
      what: 'the 300 fast events stored',
    });

    const now = Date.now();
    await track(Array.from({ length: 10 }, (_, i) => ({ user_id: 'on_time', action: 'view', timestamp: now + i })));
    const range = `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 3_600_000).toISOString()}`;
    const stats = await waitFor(
      async () => {
        const body = (await (await fetch(`${stack.base}/stats/users/on_time?granularity=1h&${range}`)).json()) as {
          series: Array<{ events: number }>;
          late_events_dropped: number;
        };
        return body.series.reduce((n, p) => n + p.events, 0) === 10 ? body : undefined;
      },
      { timeoutMs: 30_000, what: "the on-time user's 10 events in /stats" },
    );
    expect(stats.late_events_dropped).toBe(0);
    expect(await stack.count(`SELECT count() AS n FROM late_events FINAL`)).toBe(0);
  });
});
