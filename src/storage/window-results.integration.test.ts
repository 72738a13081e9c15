/**
 * Window changes written twice through the real engine: an insert that
 * timed out in the client but landed, and its retry that could not see it
 * yet (so it writes the same rows again), are stored once, and the hour
 * rollup counts the window once.
 */
import { describe, expect, it } from 'vitest';
import { migratedClickHouse } from '../../testing/migrated-clickhouse.js';
import type { ActivityAggregate } from '../stream/aggregates.js';
import { userKey } from '../stream/topology.js';
import type { WindowResult } from '../stream/window-store.js';
import { writeActivityResults } from './window-results.js';

const clickhouse = migratedClickHouse();
const START = Date.parse('2026-03-01T10:00:00Z');

function result(user: string, events: number, replaces: WindowResult<ActivityAggregate>['replaces']): WindowResult<ActivityAggregate> {
  return {
    key: userKey({ project_id: 'p', user_id: user } as Parameters<typeof userKey>[0]),
    window: { start: START, end: START + 60_000 },
    kind: 'update',
    revision: 2 * events,
    aggregate: { events, actions: { view: events }, firstEventAt: START, lastEventAt: START + 1_000, numeric: {} },
    replaces,
  };
}

async function rolledUp(user: string, table = 'agg_user_activity_1h'): Promise<number> {
  const rows = await (
    await clickhouse().query({ query: `SELECT sum(events) AS n FROM ${table} WHERE user_id = {user:String}`, query_params: { user }, format: 'JSONEachRow' })
  ).json<{ n: string }>();
  return Number(rows[0]?.n ?? 0);
}
const hourEvents = (user: string) => rolledUp(user);

describe('window changes inserts', () => {
  it('a retry of an insert that landed, with the same rows and token, is not counted twice', async () => {
    const results = [result('ann', 3, 'nothing'), result('bob', 5, 'nothing')];
    await writeActivityResults(clickhouse(), 'user-activity-1m', results, { retry: false, token: 'events:0:0-7' });
    // The retry's lookup ran before the first attempt was visible: it writes the very same rows.
    await writeActivityResults(clickhouse(), 'user-activity-1m', results, { retry: false, token: 'events:0:0-7' });
    expect([await hourEvents('ann'), await hourEvents('bob')]).toEqual([3, 5]);
    expect([await rolledUp('ann', 'agg_user_activity_1d'), await rolledUp('bob', 'agg_user_activity_1d')]).toEqual([3, 5]);
    const changes = await (await clickhouse().query({ query: 'SELECT count() AS n FROM agg_user_activity_changes', format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(changes[0]!.n)).toBe(2);

    // The next round's changes (another token) are written: ann's window grows to 4.
    const stored = { kind: 'update' as const, revision: 6, aggregate: results[0]!.aggregate };
    await writeActivityResults(clickhouse(), 'user-activity-1m', [result('ann', 4, stored)], { retry: false, token: 'events:0:8-8' });
    expect(await hourEvents('ann')).toBe(4);
  });

  it('different rows under the same round token are both written: a token names content, not only a round', async () => {
    await writeActivityResults(clickhouse(), 'user-activity-1m', [result('cid', 1, 'nothing')], { retry: false, token: 'events:1:0-1' });
    await writeActivityResults(clickhouse(), 'user-activity-1m', [result('dan', 2, 'nothing')], { retry: true, token: 'events:1:0-1' });
    expect([await hourEvents('cid'), await hourEvents('dan')]).toEqual([1, 2]);
  });
});
