import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../storage/events-table.js';
import { createHub, parsePosition, type LiveEvent, type LiveFilter } from './hub.js';

const ALL: LiveFilter = { projectId: undefined, userIds: new Set(), actions: new Set() };

function live(partition: number, offset: number, user = 'u', project = 'p', action = 'a'): LiveEvent {
  const event = { event_id: `${partition}-${offset}`, project_id: project, user_id: user, action } as StoredEvent;
  return { partition, offset, event };
}

const ids = (items: ReturnType<ReturnType<ReturnType<typeof createHub>['subscribe']>['take']>) =>
  items.flatMap((i) => (i.kind === 'event' ? [i.event.event.event_id] : [`${i.kind}:${i.kind === 'dropped' ? i.count : i.partitions.join('|')}`]));

describe('the live hub', () => {
  it('delivers what matches the filter, confined to a project, each with its position', () => {
    const hub = createHub({ bufferEvents: 10, replayEvents: 100 });
    hub.positioned(new Map([[0, 5], [1, 0]]));
    const alice = hub.subscribe({ projectId: 'p', userIds: new Set(['alice']), actions: new Set() });
    hub.publish([live(0, 5, 'alice'), live(1, 0, 'bob'), live(0, 6, 'alice', 'q'), live(1, 1, 'alice')]);
    const items = alice.take();
    expect(ids(items)).toEqual(['0-5', '1-1']);
    expect(items.map((i) => (i.kind === 'event' ? i.position : ''))).toEqual(['0:5,1:-1', '0:5,1:1']);
    expect(alice.idlePosition()).toBe('0:6,1:1');
  });

  it('ignores a record published again (a re-fetch after the tail seeked)', () => {
    const hub = createHub({ bufferEvents: 10, replayEvents: 100 });
    hub.positioned(new Map([[0, 0]]));
    const s = hub.subscribe(ALL);
    hub.publish([live(0, 0), live(0, 1)]);
    hub.publish([live(0, 1), live(0, 2)]);
    expect(ids(s.take())).toEqual(['0-0', '0-1', '0-2']);
  });

  it('drops the oldest for a reader that does not keep up, and says how many', () => {
    const hub = createHub({ bufferEvents: 3, replayEvents: 100 });
    hub.positioned(new Map([[0, 0]]));
    const slow = hub.subscribe(ALL);
    hub.publish([0, 1, 2, 3, 4].map((o) => live(0, o)));
    expect(ids(slow.take())).toEqual(['dropped:2', '0-2', '0-3', '0-4']);
    expect(slow.take()).toEqual([]);
  });

  it('replays after a position what it still holds, and names the partitions it cannot', () => {
    const hub = createHub({ bufferEvents: 100, replayEvents: 3 });
    hub.positioned(new Map([[0, 0], [1, 0]]));
    hub.publish([live(0, 0), live(1, 0), live(0, 1), live(1, 1), live(0, 2)]);
    // The ring holds 0-1, 1-1, 0-2: partition 1 after offset 0 is whole, partition 0 after -1 is not (0-0 is gone).
    const resumed = hub.subscribe(ALL, new Map([[0, -1], [1, 0]]));
    expect(ids(resumed.take())).toEqual(['gap:0', '0-1', '1-1', '0-2']);
    const caughtUp = hub.subscribe(ALL, new Map([[0, 2], [1, 1]]));
    expect(caughtUp.take()).toEqual([]);
  });

  it('reads a Last-Event-ID back, or says why not', () => {
    expect(parsePosition('0:5,3:-1')).toEqual({ ok: true, position: new Map([[0, 5], [3, -1]]) });
    expect(parsePosition('')).toEqual({ ok: true, position: new Map() });
    for (const bad of ['x', '0:1,0:2', '0:-2', '1:1;', `${'1:1,'.repeat(2_000)}`, '0:12345678901234567']) expect(parsePosition(bad).ok, bad).toBe(false);
  });
});
