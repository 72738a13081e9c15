/**
 * Answers do not wait for traffic: after a burst of events and then
 * silence, /stats/overview counts every event within 3 s of the last raw
 * event being stored (the windows' changes are emitted on the wall clock,
 * not only when event time moves on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, traffic } from '../testing/stack.js';
import { waitFor } from '../testing/wait-for.js';

const EVENTS = 50_000;
const stack = new Stack();
// Rolling updates at the default rate (10 s of event time): the burst spans 5 minutes of it.
beforeAll(() => stack.start(1, { TOPOLOGY_ROLLING_UPDATE_MS: '10000', API_MAX_PAST_MS: String(5 * 365 * 86_400_000) }));
afterAll(() => stack.stop());

describe('a burst followed by silence', () => {
  it('is counted whole by /stats/overview within 3 s of its last raw event being stored', async () => {
    const sent = traffic(EVENTS, 500, 5, 23);
    await stack.send(sent);
    await waitFor(async () => ((await stack.count('SELECT count() AS n FROM events')) === EVENTS ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 50,
      what: 'every raw event stored',
    });
    const stored = Date.now();
    const range = 'from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z';
    const counted = await waitFor(
      async () => {
        const body = (await (await fetch(`${stack.base}/stats/overview?${range}`)).json()) as { events: number };
        return body.events === EVENTS ? body : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: `/stats/overview counting all ${EVENTS}` },
    );
    const seconds = (Date.now() - stored) / 1000;
    console.log('[answers without traffic]', JSON.stringify({ events: counted.events, secondsAfterLastRawStored: seconds }));
    expect(seconds).toBeLessThan(3);
  });
});
