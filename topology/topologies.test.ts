/**
 * The shipped topology definitions under the test driver: records in, the
 * rows each sink would get out; no broker, no database.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { messageDefaults, type TrackedEvent } from '../src/model/event.js';
import { activityMinutes, userSessions } from '../src/storage/sinks.js';
import type { ActivityChangeRow } from '../src/storage/window-results.js';
import { TopologyTestDriver } from '../src/stream/topology-test-driver.js';
import { userActivityTopology } from './user-activity.js';
import { userSessionsTopology } from './user-sessions.js';

const config = loadConfig({}).topology;
const T0 = Date.parse('2026-03-01T10:00:00Z');

function event(user: string, at: number, id = `${user}-${at}`, amount = 1): TrackedEvent {
  return {
    event_id: id,
    project_id: 'shop',
    user_id: user,
    action: 'buy',
    timestamp: at,
    sent_at: null,
    received_at: at,
    session_id: null,
    properties: { amount },
    context: null,
    warnings: [],
    ...messageDefaults(),
  };
}

/** Sum of `events x sign` per user and minute: what the rollups read. */
function minuteTotals(rows: ActivityChangeRow[]) {
  const totals = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.user_id}@${new Date(row.window_start).toISOString()}`;
    totals.set(key, (totals.get(key) ?? 0) + row.events * row.sign);
  }
  return Object.fromEntries(totals);
}

describe('the shipped topologies under the test driver', () => {
  it('user-activity-1m: per user and minute, once per event_id, with signed changes that sum to the truth', () => {
    const driver = new TopologyTestDriver([userActivityTopology(config)], {}, T0);
    driver.pipe(0, [event('ann', T0), event('ann', T0 + 5_000), event('bob', T0 + 1_000)]);
    driver.pipe(0, [event('ann', T0 + 20_000), event('ann', T0 + 5_000)]); // the second: a client's resend
    driver.pipe(0, [event('ann', T0 + 3 * 60_000)]); // the watermark closes the first minute
    expect(driver.rawEvents()).toHaveLength(5);
    expect(minuteTotals(driver.rows(activityMinutes))).toMatchObject({
      'ann@2026-03-01T10:00:00.000Z': 3,
      'bob@2026-03-01T10:00:00.000Z': 1,
    });
    const finals = driver.rows(activityMinutes).filter((r) => r.is_final === 1 && r.sign === 1);
    expect(finals.map((r) => [r.user_id, r.events, r.numeric_sum.amount])).toEqual(
      expect.arrayContaining([
        ['ann', 3, 3],
        ['bob', 1, 1],
      ]),
    );
  });

  it('user-sessions: a gap longer than the session gap starts a new session; the wall clock closes the last one', () => {
    const driver = new TopologyTestDriver([userSessionsTopology(config)], { punctuation: { emitWithinMs: 1_000, idleAfterMs: 30_000 } }, T0);
    const gap = config.sessionGapMs;
    driver.pipe(3, [event('cy', T0), event('cy', T0 + 60_000), event('cy', T0 + 60_000 + gap + 1)]);
    driver.advanceWallClock(2 * gap); // silence: the idle partition's watermark follows the clock
    const finals = driver.rows(userSessions).filter((r) => r.is_final === 1 && r.is_deleted === 0);
    expect(finals.map((r) => [r.events, r.duration_ms])).toEqual([
      [2, 60_000],
      [1, 0],
    ]);
  });

  it('sends each topology\'s rows to its own sink only', () => {
    const driver = new TopologyTestDriver([userActivityTopology(config), userSessionsTopology(config)], {}, T0);
    driver.pipe(1, [event('dee', T0)]);
    driver.advanceWallClock(1_000);
    expect(driver.rows(activityMinutes).every((r) => r.topology === 'user-activity-1m')).toBe(true);
    expect(driver.rows(userSessions).every((r) => r.topology === 'user-sessions')).toBe(true);
  });
});
