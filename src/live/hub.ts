/**
 * The live tail's fan-out, in memory and without Kafka: decoded events go in
 * (publish), each open stream takes out the ones its filter matches. Every
 * bound is explicit:
 *
 * - a stream's queue holds `bufferEvents`; a reader that does not keep up
 *   loses the oldest, and is told how many (`dropped`), never slows the tail;
 * - the hub keeps the last `replayEvents` events, so a stream resumed with a
 *   position (`Last-Event-ID`) gets what it missed, or is told it cannot
 *   (`gap`, per partition) when they are gone or predate the tail.
 *
 * A position is where a stream is in each partition: the offset of the last
 * event it has passed (delivered, or not matching its filter), as
 * `partition:offset` pairs joined by commas (`positionId`).
 */
import type { StoredEvent } from '../storage/events-table.js';

export interface LiveEvent {
  partition: number;
  offset: number;
  event: StoredEvent;
}

export interface LiveFilter {
  /** The one project the stream sees; undefined in open mode (every project). */
  projectId: string | undefined;
  userIds: ReadonlySet<string>;
  actions: ReadonlySet<string>;
}

/** What a stream sends next, in order. */
export type StreamItem =
  | { kind: 'event'; event: LiveEvent; position: string }
  | { kind: 'dropped'; count: number }
  | { kind: 'gap'; partitions: number[] };

export interface Stream {
  /** The items waiting, taken out; [] when none. */
  take(): StreamItem[];
  /** Resolves when there is something to take (at once if there is). */
  ready(): Promise<void>;
  /** The position of everything passed so far, or undefined while items wait (then it would skip them). */
  idlePosition(): string | undefined;
  isClosed(): boolean;
  close(): void;
}

export interface HubLimits {
  bufferEvents: number;
  replayEvents: number;
}

export type Position = Map<number, number>;

export function positionId(position: Position): string {
  return [...position].sort(([a], [b]) => a - b).map(([p, o]) => `${p}:${o}`).join(',');
}

const MAX_POSITION_CHARS = 4_096;
const PAIR = /^(\d{1,6}):(-1|\d{1,16})$/;

/** A `Last-Event-ID` read back, or why it cannot be. */
export function parsePosition(text: string): { ok: true; position: Position } | { ok: false; problem: string } {
  if (text.length > MAX_POSITION_CHARS) return { ok: false, problem: `longer than ${MAX_POSITION_CHARS} characters` };
  const position: Position = new Map();
  if (text.trim() === '') return { ok: true, position };
  for (const pair of text.split(',')) {
    const match = PAIR.exec(pair.trim());
    if (!match) return { ok: false, problem: `"${pair.slice(0, 40)}" is not partition:offset` };
    const partition = Number(match[1]);
    if (position.has(partition)) return { ok: false, problem: `partition ${partition} appears twice` };
    position.set(partition, Number(match[2]));
  }
  return { ok: true, position };
}

function matches(filter: LiveFilter, event: StoredEvent): boolean {
  return (
    (filter.projectId === undefined || event.project_id === filter.projectId) &&
    (filter.userIds.size === 0 || filter.userIds.has(event.user_id)) &&
    (filter.actions.size === 0 || filter.actions.has(event.action))
  );
}

interface Subscriber {
  filter: LiveFilter;
  offer(event: LiveEvent): void;
}

export function createHub(limits: HubLimits) {
  /** The offset each partition is read up to (the last one published), once the tail is positioned. */
  const head: Position = new Map();
  /** The lowest offset of each partition the hub can still replay: the tail's start, then past what the ring evicted. */
  const replayFrom: Position = new Map();
  const ring: LiveEvent[] = [];
  let ringStart = 0;
  const subscribers = new Set<Subscriber>();

  function evict() {
    const excess = ring.length - ringStart - limits.replayEvents;
    if (excess <= 0) return;
    for (let i = ringStart; i < ringStart + excess; i++) {
      const old = ring[i]!;
      replayFrom.set(old.partition, old.offset + 1);
    }
    ringStart += excess;
    // Compact now and then rather than shift on every event.
    if (ringStart > limits.replayEvents) {
      ring.splice(0, ringStart);
      ringStart = 0;
    }
  }

  return {
    /** The tail is positioned: `next` is the offset it reads next in each partition. */
    positioned(next: Position) {
      for (const [partition, offset] of next) {
        if (!head.has(partition)) {
          head.set(partition, offset - 1);
          replayFrom.set(partition, offset);
        }
      }
    },

    /** Events in offset order per partition; one already published (a re-fetch) is ignored. */
    publish(events: LiveEvent[]) {
      for (const live of events) {
        const last = head.get(live.partition);
        if (last === undefined || live.offset <= last) continue;
        head.set(live.partition, live.offset);
        ring.push(live);
        for (const subscriber of subscribers) if (matches(subscriber.filter, live.event)) subscriber.offer(live);
      }
      evict();
    },

    /** The hub forgets everything (its tail stopped): a later stream starts from a new tail's position. */
    reset() {
      head.clear();
      replayFrom.clear();
      ring.length = 0;
      ringStart = 0;
    },

    /** A stream from now, or from `since` (a position of an earlier stream): what the hub still holds after it, then what comes. */
    subscribe(filter: LiveFilter, since?: Position): Stream {
      const passed: Position = new Map(head);
      let queue: StreamItem[] = [];
      let dropped = 0;
      let wake: (() => void) | undefined;
      const notify = () => {
        wake?.();
        wake = undefined;
      };
      const enqueue = (live: LiveEvent) => {
        passed.set(live.partition, live.offset);
        if (queue.length >= limits.bufferEvents) {
          // The oldest event goes (a gap or drop notice stays: it is what the reader must know).
          const oldest = queue.findIndex((item) => item.kind === 'event');
          if (oldest >= 0) queue.splice(oldest, 1);
          dropped++;
        }
        queue.push({ kind: 'event', event: live, position: positionId(passed) });
        notify();
      };

      if (since) {
        const missing = [...head.keys()].filter((p) => since.has(p) && since.get(p)! + 1 < replayFrom.get(p)!);
        if (missing.length > 0) queue.push({ kind: 'gap', partitions: missing.sort((x, y) => x - y) });
        // A partition the earlier stream had no position in: all of it the hub holds.
        for (const [p, last] of head) passed.set(p, Math.min(since.get(p) ?? replayFrom.get(p)! - 1, last));
        for (let i = ringStart; i < ring.length; i++) {
          const live = ring[i]!;
          if (live.offset <= passed.get(live.partition)!) continue;
          if (matches(filter, live.event)) enqueue(live);
          else passed.set(live.partition, live.offset);
        }
      }

      let closed = false;
      const subscriber: Subscriber = {
        filter,
        offer(live) {
          enqueue(live);
        },
      };
      subscribers.add(subscriber);
      return {
        take() {
          const items = queue;
          queue = [];
          if (dropped > 0) {
            items.unshift({ kind: 'dropped', count: dropped });
            dropped = 0;
          }
          return items;
        },
        ready() {
          if (queue.length > 0 || dropped > 0 || closed) return Promise.resolve();
          return new Promise<void>((resolve) => (wake = resolve));
        },
        idlePosition() {
          if (queue.length > 0 || dropped > 0) return undefined;
          for (const [p, o] of head) passed.set(p, o);
          return positionId(passed);
        },
        isClosed: () => closed,
        close() {
          closed = true;
          subscribers.delete(subscriber);
          notify();
        },
      };
    },
  };
}

export type Hub = ReturnType<typeof createHub>;
