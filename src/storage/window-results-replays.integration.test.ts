/**
 * Each window-results sink against the real engine, written the ways a
 * worker's failures write it: the same results twice (a replay after a
 * crash, under another round's token, by an owner that does not know what
 * is stored), a retry after an attempt that did land, and a stale revision
 * (an evicted owner's late write). None of them may change what is read:
 * the minute results, the hour and day rollups (counts, per-action counts,
 * numeric count/sum/min/max), sessions and late events stay as they were.
 */
import { describe, expect, it } from 'vitest';
import { migratedClickHouse } from '../../testing/migrated-clickhouse.js';
import { userKey } from '../stream/topology.js';
import { recordLateEvents, writeActivityResults, writeSessionResults } from './window-results.js';

type Result = Parameters<typeof writeActivityResults>[2][number];
type Aggregate = Result['aggregate'];
type LateEntry = Parameters<typeof recordLateEvents>[1][number];

const clickhouse = migratedClickHouse();
const TOPOLOGY = 'user-activity-1m';
const START = Date.parse('2026-04-01T10:00:00Z');
const MINUTE = 60_000;

/** A window of `events` events with amounts 1..events (sum, min and max known), `views` of them views. */
function aggregate(events: number, views = events): Aggregate {
  const amounts = Array.from({ length: events }, (_, i) => i + 1);
  return {
    events,
    actions: Object.fromEntries(Object.entries({ view: views, buy: events - views }).filter(([, n]) => n > 0)),
    firstEventAt: START,
    lastEventAt: START + events * 1_000,
    numeric: { amount: { count: events, sum: amounts.reduce((a, b) => a + b, 0), min: 1, max: events } },
  };
}

function result(user: string, minute: number, events: number, replaces: Result['replaces'], kind: 'update' | 'final' = 'update'): Result {
  return {
    key: userKey({ project_id: 'p', user_id: user } as Parameters<typeof userKey>[0]),
    window: { start: START + minute * MINUTE, end: START + (minute + 1) * MINUTE },
    kind,
    revision: 2 * events + (kind === 'final' ? 1 : 0),
    aggregate: aggregate(events),
    replaces,
  };
}

/** What a result looks like once stored: what the window store passes as `replaces` for a window it wrote itself. */
const stored = (r: Result) => ({ kind: r.kind, revision: r.revision, aggregate: r.aggregate });

async function rows<T>(query: string, user: string): Promise<T[]> {
  return (await clickhouse().query({ query, query_params: { user }, format: 'JSONEachRow' })).json<T>();
}

/** Everything a reader can see of a user's windows: compared before and after each faulty write. */
async function readable(user: string) {
  const rollup = (table: string) =>
    rows(
      `SELECT sum(events) AS events, sumMap(actions) AS actions, sumMap(numeric_count) AS count, sumMap(numeric_sum) AS sum,
              minMap(numeric_min) AS min, maxMap(numeric_max) AS max
       FROM ${table} WHERE user_id = {user:String}`,
      user,
    );
  return {
    minutes: await rows(
      `SELECT toUnixTimestamp64Milli(window_start) AS start, revision, is_final, events, actions, numeric_sum, numeric_min, numeric_max
       FROM agg_user_activity_1m FINAL WHERE user_id = {user:String} ORDER BY start`,
      user,
    ),
    hour: await rollup('agg_user_activity_1h'),
    day: await rollup('agg_user_activity_1d'),
    sessions: await rows(
      `SELECT toUnixTimestamp64Milli(session_start) AS start, revision, is_final, events, duration_ms
       FROM agg_user_sessions FINAL WHERE user_id = {user:String} AND is_deleted = 0 ORDER BY start`,
      user,
    ),
    late: await rows(`SELECT event_id FROM late_events FINAL WHERE user_id = {user:String} ORDER BY event_id`, user),
  };
}

function lateEntry(user: string, eventId: string): LateEntry {
  const at = START + 30_000;
  return {
    topology: TOPOLOGY,
    late: [
      {
        key: userKey({ project_id: 'p', user_id: user } as Parameters<typeof userKey>[0]),
        window: { start: START, end: START + MINUTE },
        event: { event_id: eventId, timestamp: at } as LateEntry['late'][number]['event'],
        lateByMs: 5_000,
        corrected: false,
      },
    ],
  };
}

describe('window-results sinks written again', () => {
  it('the same results twice, the second time as a replay under another token by an owner that does not know what is stored', async () => {
    const user = 'twice';
    const first = [result(user, 0, 3, 'nothing'), result(user, 1, 5, 'nothing', 'final')];
    await writeActivityResults(clickhouse(), TOPOLOGY, first, { retry: false, token: 'events:0:0-9' });
    await writeSessionResults(clickhouse(), 'user-sessions', [result(user, 0, 8, 'nothing')]);
    await recordLateEvents(clickhouse(), [lateEntry(user, '0190f1a2-0000-7000-8000-000000000001')]);
    const before = await readable(user);
    expect(before.hour).toEqual([
      { events: 8, actions: { view: 8 }, count: { amount: 8 }, sum: { amount: 6 + 15 }, min: { amount: 1 }, max: { amount: 5 } },
    ]);
    expect(before.day).toEqual(before.hour);

    // A replay after a crash: the same windows recomputed, batches grouped differently (another token), `replaces` unknown.
    const replayed = first.map((r) => ({ ...r, replaces: 'unknown' as const }));
    await writeActivityResults(clickhouse(), TOPOLOGY, replayed, { retry: false, token: 'events:0:0-4,events:1:0-6' });
    // And re-emitted by an owner that wrote them itself (`replaces` is what it wrote): not newer, skipped.
    await writeActivityResults(clickhouse(), TOPOLOGY, first.map((r) => ({ ...r, replaces: stored(r) })), { retry: false, token: 'punctuation:0:9' });
    await writeSessionResults(clickhouse(), 'user-sessions', [result(user, 0, 8, 'nothing')]);
    await recordLateEvents(clickhouse(), [lateEntry(user, '0190f1a2-0000-7000-8000-000000000001')]);
    expect(await readable(user)).toEqual(before);
  });

  it('retried after an attempt that did land: the retry looks up what is stored and writes nothing', async () => {
    const user = 'landed';
    const opened = result(user, 0, 2, 'nothing');
    await writeActivityResults(clickhouse(), TOPOLOGY, [opened], { retry: false, token: 'events:2:0-1' });
    const grown = result(user, 0, 6, stored(opened));
    // The attempt lands (ClickHouse stored it) but its answer is lost: a client timeout.
    await writeActivityResults(clickhouse(), TOPOLOGY, [grown], { retry: false, token: 'events:2:2-5' });
    const landed = await readable(user);
    expect(landed.hour[0]).toMatchObject({ events: 6, sum: { amount: 21 }, max: { amount: 6 } });

    // The retry, as the worker makes it: same token, `retry` set, so `replaces` is not trusted.
    await writeActivityResults(clickhouse(), TOPOLOGY, [grown], { retry: true, token: 'events:2:2-5' });
    // A retry whose insert would carry another token (the rows regrouped): only the lookup keeps it out.
    await writeActivityResults(clickhouse(), TOPOLOGY, [grown], { retry: true, token: 'events:2:2-7' });
    expect(await readable(user)).toEqual(landed);
  });

  it('a stale revision (an evicted owner writing late) leaves the newer result and the rollups as they are', async () => {
    const user = 'stale';
    const newest = result(user, 0, 7, 'nothing', 'final');
    await writeActivityResults(clickhouse(), TOPOLOGY, [newest], { retry: false, token: 'events:3:0-6' });
    await writeSessionResults(clickhouse(), 'user-sessions', [result(user, 0, 7, 'nothing', 'final')]);
    const before = await readable(user);

    // The old owner's results: fewer events, a lower revision; it does not know the window moved on.
    const old = result(user, 0, 4, 'unknown');
    await writeActivityResults(clickhouse(), TOPOLOGY, [old], { retry: false, token: 'events:3:0-3' });
    await writeActivityResults(clickhouse(), TOPOLOGY, [old], { retry: true, token: 'events:3:0-3' });
    await writeSessionResults(clickhouse(), 'user-sessions', [result(user, 0, 4, 'nothing')]);
    const after = await readable(user);
    expect(after).toEqual(before);
    expect(after.minutes).toMatchObject([{ revision: 15, is_final: 1, events: 7 }]);
    expect(after.sessions).toMatchObject([{ revision: 15, events: 7 }]);
  });
});
