/** The window engine on synthetic streams in virtual (event) time. */
import { describe, expect, it } from 'vitest';
import { activityAggregator, distinctActions, durationMs, type ActivityAggregate } from './aggregates.js';
import {
  RETRACTED,
  WindowStore,
  type Checkpoint,
  type EmitPolicy,
  type LatePolicy,
  type WindowedAggregation,
  type WindowCheckpoint,
  type WindowResult,
} from './window-store.js';
import { hopping, minutes, seconds, session, tumbling, type WindowSpec } from './windows.js';
import { messageDefaults, type TrackedEvent } from '../model/event.js';

function event(user: string, at: number, action = 'click', properties: TrackedEvent['properties'] = {}): TrackedEvent {
  return {
    event_id: `${user}-${at}-${action}`,
    project_id: 'p',
    user_id: user,
    action,
    timestamp: at,
    sent_at: null,
    received_at: at,
    session_id: null,
    properties,
    context: null,
    warnings: [],
    ...messageDefaults(),
  };
}

/** A store of per-user activity over `spec`: final results, 30 s of grace, late events dropped, unless `options` say otherwise. */
function store(spec: WindowSpec, options: Partial<WindowedAggregation<TrackedEvent, ActivityAggregate>> = {}) {
  return new WindowStore<TrackedEvent, ActivityAggregate>({
    spec,
    graceMs: seconds(30),
    emit: { kind: 'final' },
    late: 'drop',
    key: (e) => e.user_id,
    time: (e) => e.timestamp,
    aggregator: activityAggregator({ numericProperties: ['amount'] }),
    ...options,
  });
}

/** Feeds events one batch at a time, as the consumer does, collecting results. */
function run(s: ReturnType<typeof store>, batches: TrackedEvent[][]) {
  let offset = 0n;
  const results: WindowResult<ActivityAggregate>[] = [];
  const late = [];
  for (const batch of batches) {
    for (const e of batch) late.push(...s.add(e, offset++));
    results.push(...s.advance());
  }
  return { results, late };
}

const summary = (r: WindowResult<ActivityAggregate>) => ({ key: r.key, start: r.window.start, kind: r.kind, revision: r.revision, events: r.aggregate.events });

describe('tumbling windows, final results', () => {
  it('emits nothing while a window is open and one final when the watermark passes end + grace', () => {
    const s = store(tumbling(minutes(1)), { graceMs: seconds(30) });
    const { results } = run(s, [
      [event('ann', seconds(1), 'open'), event('ann', seconds(50), 'buy', { amount: 20 }), event('bob', seconds(10))],
      [event('ann', seconds(89))], // watermark 89 s: window [0, 60) closes at 90 s
    ]);
    expect(results).toEqual([]);
    const { results: closing } = run(s, [[event('bob', seconds(90))]]);
    expect(closing.map(summary)).toEqual([
      { key: 'ann', start: 0, kind: 'final', revision: 5, events: 2 },
      { key: 'bob', start: 0, kind: 'final', revision: 3, events: 1 },
    ]);
    const ann = closing[0]!.aggregate;
    expect(ann).toMatchObject({ actions: { open: 1, buy: 1 }, firstEventAt: 1_000, lastEventAt: 50_000, numeric: { amount: { count: 1, sum: 20, min: 20, max: 20 } } });
    expect(distinctActions(ann)).toBe(2);
  });

  it('accepts an out-of-order event within grace into its window', () => {
    const s = store(tumbling(minutes(1)), { graceMs: seconds(30) });
    const { results, late } = run(s, [[event('ann', seconds(70)), event('ann', seconds(59))], [event('ann', seconds(95))]]);
    expect(late).toEqual([]);
    expect(results.map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'final', revision: 3, events: 1 }]);
  });
});

describe('late events beyond grace', () => {
  const stream = [[event('ann', seconds(10))], [event('ann', seconds(100))], [event('ann', seconds(20), 'late')]];

  it('drop: counted and reported, the final result stays', () => {
    const s = store(tumbling(minutes(1)), { late: 'drop' });
    const { results, late } = run(s, stream);
    expect(results.map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'final', revision: 3, events: 1 }]);
    expect(late).toEqual([expect.objectContaining({ key: 'ann', window: { start: 0, end: 60_000 }, lateByMs: 10_000, corrected: false })]);
    expect(s.stats().lateEvents).toBe(1);
  });

  it('correct: folded in, and the window is emitted again at a higher revision', () => {
    const s = store(tumbling(minutes(1)), { late: 'correct' });
    const { results, late } = run(s, stream);
    expect(results.map(summary)).toEqual([
      { key: 'ann', start: 0, kind: 'final', revision: 3, events: 1 },
      { key: 'ann', start: 0, kind: 'final', revision: 5, events: 2 },
    ]);
    expect(late[0]!.corrected).toBe(true);
  });

  it('correct: not past the correction horizon; then it is only counted', () => {
    const s = store(tumbling(minutes(1)), { late: 'correct', correctionHorizonMs: seconds(60) });
    const { results, late } = run(s, [[event('ann', seconds(10))], [event('ann', seconds(151))], [event('ann', seconds(20))]]);
    expect(results.map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'final', revision: 3, events: 1 }]);
    expect(late[0]!.corrected).toBe(false);
  });
});

describe('rolling updates', () => {
  it('updates an open window at most once per interval of event time, then emits the final', () => {
    const s = store(tumbling(minutes(1)), { emit: { kind: 'rolling', everyMs: seconds(10) }, graceMs: 0 });
    const { results } = run(s, [
      [event('ann', seconds(1))],
      [event('ann', seconds(5))], // 4 s after the last update: not yet
      [event('ann', seconds(12))], // 11 s: update
      [event('ann', seconds(13))],
      [event('bob', seconds(61))], // closes ann's window
    ]);
    expect(results.map(summary)).toEqual([
      { key: 'ann', start: 0, kind: 'update', revision: 2, events: 1 },
      { key: 'ann', start: 0, kind: 'update', revision: 6, events: 3 },
      { key: 'ann', start: 0, kind: 'final', revision: 9, events: 4 },
      { key: 'bob', start: 60_000, kind: 'update', revision: 2, events: 1 },
    ]);
  });
});

describe('hopping windows', () => {
  it('counts an event in every window it falls in', () => {
    const s = store(hopping(minutes(1), seconds(30)), { graceMs: 0 });
    const { results } = run(s, [[event('ann', seconds(45)), event('ann', seconds(70))], [event('ann', seconds(200))]]);
    expect(results.filter((r) => r.key === 'ann' && r.window.start < 100_000).map(summary)).toEqual([
      { key: 'ann', start: 0, kind: 'final', revision: 3, events: 1 },
      { key: 'ann', start: 30_000, kind: 'final', revision: 5, events: 2 },
      { key: 'ann', start: 60_000, kind: 'final', revision: 3, events: 1 },
    ]);
  });
});

describe('session windows', () => {
  it('groups a user’s events separated by less than the gap, with duration and count', () => {
    const s = store(session(minutes(30)), { graceMs: 0 });
    const { results } = run(s, [
      [event('ann', minutes(0)), event('ann', minutes(10)), event('ann', minutes(25))],
      [event('ann', minutes(60))], // 35 min after the last: a new session
      [event('ann', minutes(200))],
    ]);
    const finals = results.filter((r) => r.kind === 'final');
    expect(finals.map(summary)).toEqual([
      { key: 'ann', start: 0, kind: 'final', revision: 7, events: 3 },
      { key: 'ann', start: minutes(60), kind: 'final', revision: 3, events: 1 },
    ]);
    expect(finals[0]!.window).toEqual({ start: 0, end: minutes(55) });
    expect(durationMs(finals[0]!.aggregate)).toBe(minutes(25));
  });

  it('merges two sessions that a late-arriving event bridges, retracting the one emitted under another start', () => {
    const s = store(session(minutes(10)), { graceMs: minutes(30), emit: { kind: 'rolling', everyMs: 1 } });
    const { results } = run(s, [
      [event('ann', minutes(15))],
      [event('ann', minutes(0))], // a separate session before it (gap 10 min)
      [event('ann', minutes(8))], // bridges [0, 10) and [15, 25)
    ]);
    expect(results.map(summary)).toEqual([
      { key: 'ann', start: minutes(15), kind: 'update', revision: 2, events: 1 },
      { key: 'ann', start: 0, kind: 'update', revision: 2, events: 1 },
      { key: 'ann', start: 0, kind: 'update', revision: 6, events: 3 },
      { key: 'ann', start: minutes(15), kind: 'retract', revision: RETRACTED, events: 1 },
    ]);
  });
});

describe('replay', () => {
  it('the same records give the same results, revisions included', () => {
    const batches = [
      [event('ann', seconds(1)), event('bob', seconds(3))],
      [event('ann', seconds(40)), event('ann', seconds(70))],
      [event('bob', seconds(20)), event('ann', seconds(130))],
    ];
    const options = { emit: { kind: 'rolling', everyMs: seconds(15) } as EmitPolicy };
    expect(run(store(tumbling(minutes(1)), options), batches).results).toEqual(run(store(tumbling(minutes(1)), options), batches).results);
  });

  it('restored from its checkpoints after a crash between checkpoint and commit, it folds nothing twice', () => {
    const batches = [
      [event('ann', seconds(10)), event('bob', seconds(20))],
      [event('ann', seconds(65)), event('ann', seconds(95))], // closes [0, 60): finals for both
      [event('ann', seconds(100)), event('bob', seconds(110))],
    ];
    const options = { emit: { kind: 'rolling', everyMs: seconds(5) } as EmitPolicy };
    const offsets = [0n, 1n, 2n, 3n, 4n, 5n];
    // The window_state table: the latest checkpoint of each window, gone ones removed.
    const table = new Map<string, WindowCheckpoint<ActivityAggregate>>();
    const save = (c: Checkpoint<ActivityAggregate>) => {
      for (const w of c.open) table.set(`${w.key}/${w.window.start}`, w);
      for (const g of c.gone) table.delete(`${g.key}/${g.start}`);
    };

    const original = store(tumbling(minutes(1)), options);
    batches[0]!.forEach((e, i) => original.add(e, offsets[i]!));
    original.advance();
    save(original.checkpoint());
    const committedWatermark = original.watermark; // committed with batch 0
    batches[1]!.forEach((e, i) => original.add(e, offsets[2 + i]!));
    original.advance();
    save(original.checkpoint()); // batch 1 checkpointed, then the worker dies before committing it

    const restored = store(tumbling(minutes(1)), options);
    restored.resumeFrom(committedWatermark);
    restored.restore([...table.values()]);
    batches[1]!.forEach((e, i) => restored.add(e, offsets[2 + i]!, true)); // replayed from the commit
    restored.advance();
    const next = (s: ReturnType<typeof store>) => {
      batches[2]!.forEach((e, i) => s.add(e, offsets[4 + i]!));
      return s.advance().map(summary);
    };
    expect(next(restored)).toEqual(next(original));
    expect(restored.stats()).toMatchObject({ openWindows: 2, lateEvents: 0 });
  });

  describe('late policy correct, across an owner change', () => {
    const options = { late: 'correct' as LatePolicy, graceMs: 0, correctionHorizonMs: minutes(1) };
    /** The window_state table: the latest checkpoint of each window, gone ones removed. */
    function stateTable() {
      const table = new Map<string, WindowCheckpoint<ActivityAggregate>>();
      return {
        save(c: Checkpoint<ActivityAggregate>) {
          for (const w of c.open) table.set(`${w.key}/${w.window.start}`, w);
          for (const g of c.gone) table.delete(`${g.key}/${g.start}`);
        },
        rows: () => [...table.values()],
      };
    }

    it('checkpoints a closed window kept for corrections as closed, and as gone past the horizon', () => {
      const s = store(tumbling(minutes(1)), options);
      s.add(event('ann', seconds(10)), 0n);
      s.add(event('ann', seconds(70)), 1n); // closes [0, 60)
      s.advance();
      expect(s.checkpoint().open.map((w) => [w.window.start, w.closed])).toEqual([
        [0, true],
        [60_000, false],
      ]);
      s.add(event('ann', seconds(125)), 2n); // past [0, 60)'s horizon (60 s + 60 s); closes [60, 120)
      s.advance();
      const checkpoint = s.checkpoint();
      expect(checkpoint.gone).toEqual([{ key: 'ann', start: 0 }]);
      expect(checkpoint.open.map((w) => [w.window.start, w.closed]).sort()).toEqual([
        [120_000, false],
        [60_000, true],
      ].sort());
    });

    it('a new owner restored from the checkpoint corrects a closed window as the old owner would have', () => {
      const table = stateTable();
      const batches = [[event('ann', seconds(10)), event('ann', seconds(70))], [event('ann', seconds(20), 'buy')]];
      const original = store(tumbling(minutes(1)), options);
      batches[0]!.forEach((e, i) => original.add(e, BigInt(i)));
      original.advance();
      table.save(original.checkpoint());

      const restored = store(tumbling(minutes(1)), options);
      restored.resumeFrom(original.watermark); // committed with batch 0
      restored.restore(table.rows());
      const late = (s: ReturnType<typeof store>) => s.add(batches[1]![0]!, 2n).map((l) => l.corrected);
      expect(late(restored)).toEqual(late(original));
      expect(restored.advance().map(summary)).toEqual(original.advance().map(summary));
      expect(restored.stats()).toMatchObject({ retainedClosedWindows: 1, lateEvents: 1 });
    });

    it('a correction checkpointed before a crash is neither folded nor counted again when its record is replayed', () => {
      const table = stateTable();
      const original = store(tumbling(minutes(1)), options);
      original.add(event('ann', seconds(10)), 0n);
      original.add(event('ann', seconds(70)), 1n);
      original.advance();
      table.save(original.checkpoint());
      const committedWatermark = original.watermark; // committed with the first batch
      original.add(event('ann', seconds(20), 'buy'), 2n); // late: corrected
      expect(original.advance().map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'final', revision: 5, events: 2 }]);
      table.save(original.checkpoint()); // checkpointed, then the worker dies before committing

      const restored = store(tumbling(minutes(1)), options);
      restored.resumeFrom(committedWatermark);
      restored.restore(table.rows());
      expect(restored.add(event('ann', seconds(20), 'buy'), 2n)).toEqual([]); // the same record, from the commit
      expect(restored.advance()).toEqual([]);
      expect(restored.stats().lateEvents).toBe(0);
      restored.add(event('ann', seconds(30)), 3n); // a new late event is corrected on top of the restored result
      expect(restored.advance().map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'final', revision: 7, events: 3 }]);
    });
  });

  it('writes no gone row for a window that opened and closed between two checkpoints', () => {
    const s = store(tumbling(minutes(1)), { graceMs: 0 });
    s.add(event('ann', seconds(10)), 0n);
    s.add(event('ann', seconds(70)), 1n); // closes [0, 60) before any checkpoint
    s.advance();
    expect(s.checkpoint()).toEqual({ open: [expect.objectContaining({ window: { start: 60_000, end: 120_000 } })], gone: [] });
    s.add(event('ann', seconds(130)), 2n); // closes [60, 120), which has a row
    s.advance();
    expect(s.checkpoint().gone).toEqual([{ key: 'ann', start: 60_000 }]);
  });

  it('checkpoints the windows changed since the last checkpoint and those gone', () => {
    const s = store(tumbling(minutes(1)), { graceMs: 0 });
    s.add(event('ann', seconds(10)), 100n);
    s.add(event('bob', seconds(50)), 101n);
    s.advance();
    expect(s.checkpoint().open.map((w) => [w.key, w.window.start, w.throughOffset])).toEqual([
      ['ann', 0, 101n],
      ['bob', 0, 102n],
    ]);
    s.add(event('ann', seconds(61)), 102n);
    s.advance(); // [0, 60) closes for both
    expect(s.checkpoint()).toEqual({
      open: [expect.objectContaining({ key: 'ann', window: { start: 60_000, end: 120_000 }, throughOffset: 103n })],
      gone: [
        { key: 'ann', start: 0 },
        { key: 'bob', start: 0 },
      ],
    });
    expect(s.stats()).toMatchObject({ openWindows: 1, watermark: 61_000 });
  });
});

describe('what storage holds for a window before each result (replaces)', () => {
  const rolling = { emit: { kind: 'rolling', everyMs: seconds(5) } as EmitPolicy };
  const replaced = (r: WindowResult<ActivityAggregate>) =>
    typeof r.replaces === 'string' ? r.replaces : { kind: r.replaces.kind, revision: r.replaces.revision, events: r.replaces.aggregate.events };

  it('a window this store opened: nothing, then each result it emitted before', () => {
    const { results } = run(store(tumbling(minutes(1)), rolling), [
      [event('ann', seconds(1))],
      [event('ann', seconds(10)), event('ann', seconds(20))],
      [event('bob', seconds(95))], // closes [0, 60)
    ]);
    const ann = results.filter((r) => r.key === 'ann');
    expect(ann.map((r) => [r.kind, r.revision, replaced(r)])).toEqual([
      ['update', 2, 'nothing'],
      ['update', 6, { kind: 'update', revision: 2, events: 1 }],
      ['final', 7, { kind: 'update', revision: 6, events: 3 }],
    ]);
  });

  it('a window opened below the uncertain offset, or restored from a checkpoint: unknown, for as long as it lives', () => {
    const s = store(tumbling(minutes(1)), rolling);
    s.uncertainUntil(2n);
    s.restore([{ key: 'cat', window: { start: 0, end: minutes(1) }, aggregate: activityAggregator().add(activityAggregator().init(), event('cat', 1)), closed: false, emitted: true, emittedAt: undefined, throughOffset: 0n }]);
    s.add(event('ann', seconds(1)), 0n); // an earlier owner may have written this window
    s.add(event('cat', seconds(2)), 1n);
    s.add(event('bob', seconds(3)), 2n); // this store's alone
    const first = s.advance();
    s.add(event('ann', seconds(30)), 3n);
    s.add(event('cat', seconds(31)), 4n);
    s.add(event('bob', seconds(32)), 5n);
    s.add(event('dan', seconds(95)), 6n); // closes [0, 60)
    const all = [...first, ...s.advance()].filter((r) => r.window.start === 0);
    const byKey = (key: string) => all.filter((r) => r.key === key).map(replaced);
    expect(byKey('ann')).toEqual(['unknown', 'unknown']);
    expect(byKey('cat')).toEqual(['unknown', 'unknown']);
    expect(byKey('bob')).toEqual(['nothing', { kind: 'update', revision: 2, events: 1 }]);
  });

  it('a session that grew keeps what is stored under its start; sessions merged into one do not know it', () => {
    const s = store(session(minutes(5)), rolling); // grace 30 s
    s.add(event('ann', seconds(0)), 0n); // [0, 300)
    s.add(event('ann', seconds(312)), 1n); // [312, 612): the first is still open until 330
    s.advance();
    s.add(event('ann', seconds(320)), 2n); // grows the second
    const grown = s.advance().find((r) => r.window.start === seconds(312))!;
    expect(replaced(grown)).toEqual({ kind: 'update', revision: 2, events: 1 });
    s.add(event('ann', seconds(299)), 3n); // bridges [0, 300) and [312, 620)
    const merged = s.advance().find((r) => r.kind !== 'retract')!;
    expect(merged.window).toEqual({ start: 0, end: seconds(620) });
    expect(merged.replaces).toBe('unknown');
  });
});

describe('a client clock running fast', () => {
  it('moves the watermark no further than the time received plus the grace, so on-time events are not late', () => {
    const s = store(tumbling(minutes(1)), { watermarkTime: (e) => e.received_at + seconds(30) });
    const now = minutes(100);
    const fast = Array.from({ length: 300 }, (_, i) => ({ ...event(`fast_${i}`, now + minutes(59)), received_at: now }));
    const onTime = Array.from({ length: 10 }, (_, i) => ({ ...event('honest', now + seconds(1 + i)), received_at: now + seconds(1 + i) }));
    const { late } = run(s, [fast, onTime]);
    expect(late).toEqual([]);
    expect(s.watermark).toBe(now + seconds(30));
    // Once the honest clock passes the honest window's end plus the grace, it closes with all 10.
    const { results } = run(s, [[event('honest', now + minutes(1) + seconds(30))]]);
    expect(results.filter((r) => r.key === 'honest').map(summary)).toEqual([{ key: 'honest', start: now, kind: 'final', revision: 21, events: 10 }]);
  });
});

describe('wall-clock punctuation', () => {
  function punctuated() {
    return store(tumbling(minutes(1)), { emit: { kind: 'rolling', everyMs: seconds(10) }, punctuation: { emitWithinMs: 1_000, idleAfterMs: seconds(30) } });
  }
  const wall = 1_000_000;

  it('emits changes that waited the bound in wall time, though event time stood still', () => {
    const s = punctuated();
    s.tick(wall);
    s.add(event('ann', seconds(1)), 0n);
    expect(s.advance().map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'update', revision: 2, events: 1 }]);
    s.tick(wall + 100);
    s.add(event('ann', seconds(2)), 1n); // 1 s of event time later: not due by the rolling rate
    expect(s.advance()).toEqual([]);
    s.tick(wall + 1_099);
    expect(s.advance()).toEqual([]);
    s.tick(wall + 1_100);
    expect(s.advance().map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'update', revision: 4, events: 2 }]);
    s.tick(wall + 5_000);
    expect(s.advance()).toEqual([]); // nothing changed since
  });

  it('lets an idle, caught-up partition follow the wall clock from its last record, so its windows close', () => {
    const s = punctuated();
    s.tick(wall);
    s.add(event('ann', seconds(50)), 0n);
    s.advance();
    s.tick(wall + seconds(30) + seconds(40));
    expect(s.advanceIdle(false)).toBe(false); // records left to read: event time waits for them
    expect(s.advanceIdle(true)).toBe(true);
    expect(s.watermark).toBe(seconds(90)); // 50 s + (70 s - 30 s idle)
    expect(s.advance().map(summary)).toEqual([{ key: 'ann', start: 0, kind: 'final', revision: 3, events: 1 }]);
  });

  it('does not move a watermark it has none of, nor before the idle time', () => {
    const s = punctuated();
    s.tick(wall + minutes(10));
    expect(s.advanceIdle(true)).toBe(false);
    s.add(event('ann', seconds(50)), 0n);
    s.tick(wall + minutes(10) + seconds(29));
    expect(s.advanceIdle(true)).toBe(false);
  });
});

describe('bounded state', () => {
  it('folds the events of keys past the open-window cap into the overflow key, totals exact', () => {
    const s = store(tumbling(minutes(1)), { maxOpenWindows: 3, overflowKey: () => '$other' });
    const users = Array.from({ length: 10 }, (_, i) => event(`user_${i}`, seconds(1 + i)));
    const { results } = run(s, [users, [event('user_0', seconds(20))], [event('closer', minutes(2))]]);
    // 7 users past the cap, and the closer: the windows it closes are still open when it comes.
    expect(s.stats()).toMatchObject({ shedEvents: 8 });
    expect(results.map(summary)).toEqual([
      { key: '$other', start: 0, kind: 'final', revision: 15, events: 7 },
      { key: 'user_0', start: 0, kind: 'final', revision: 5, events: 2 }, // a key with an open window keeps it
      { key: 'user_1', start: 0, kind: 'final', revision: 3, events: 1 },
      { key: 'user_2', start: 0, kind: 'final', revision: 3, events: 1 },
    ]);
  });

  it('counts actions past the per-window cap under $other', () => {
    const aggregator = activityAggregator({ maxActions: 2 });
    let acc = aggregator.init();
    for (const action of ['view', 'click', 'buy', 'view', 'x1', 'x2']) acc = aggregator.add(acc, event('ann', 0, action));
    expect(acc.actions).toEqual({ view: 2, click: 1, $other: 3 });
    expect(acc.events).toBe(6);
    expect(aggregator.drainShed!()).toBe(3);
    expect(aggregator.drainShed!()).toBe(0);
  });
});
