/**
 * Aggregations over the events of one window. An Aggregator is a value
 * (init, add, merge), so a topology definition names what it computes and the
 * engine stays the same; merge is what session windows need when an event
 * bridges two sessions.
 */
import type { TrackedEvent } from '../model/event.js';
import type { Millis } from './windows.js';

export interface Aggregator<E, A> {
  /** Names the aggregation in topology descriptions. */
  describe: string;
  init(): A;
  /** Folds one event in; may update `acc` in place and return it. */
  add(acc: A, event: E): A;
  /** Combines two aggregates of the same key into one (session merging). */
  merge(a: A, b: A): A;
  /** A copy that later `add`s to the original leave alone (results and checkpoints are snapshots). */
  clone(a: A): A;
  /** How many events are folded in: grows with every event, so results can be versioned by content. */
  weight(a: A): number;
  /** Events folded into a shared bucket since the last call (a cap was reached): for a metric. */
  drainShed?(): number;
}

/** The action that actions past a window's cap are counted under. */
export const OTHER_ACTION = '$other';

export interface NumericSummary {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Per user and window: counts, per-action counts, first/last event time, numeric properties. */
export interface ActivityAggregate {
  events: number;
  actions: Record<string, number>;
  firstEventAt: Millis;
  lastEventAt: Millis;
  numeric: Record<string, NumericSummary>;
}

export function distinctActions(aggregate: ActivityAggregate): number {
  return Object.keys(aggregate.actions).length;
}

/** A session's length: from its first event to its last. */
export function durationMs(aggregate: ActivityAggregate): Millis {
  return aggregate.events === 0 ? 0 : aggregate.lastEventAt - aggregate.firstEventAt;
}

function mergeSummary(a: NumericSummary | undefined, b: NumericSummary): NumericSummary {
  if (!a) return { ...b };
  return { count: a.count + b.count, sum: a.sum + b.sum, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

/** `numericProperties` are summed, min'd and max'd when an event carries them as numbers. */
/**
 * `maxActions`: distinct actions one window counts; the events of any
 * further action are counted under OTHER_ACTION, so one user sending random
 * action names cannot grow a window (and its rows) without bound.
 */
export function activityAggregator(options: { numericProperties?: string[]; maxActions?: number } = {}): Aggregator<TrackedEvent, ActivityAggregate> {
  const numericProperties = options.numericProperties ?? [];
  const maxActions = options.maxActions ?? Number.POSITIVE_INFINITY;
  let shed = 0;
  return {
    describe: `activity(events, per action, first/last${numericProperties.length ? `, sum/min/max of ${numericProperties.join(', ')}` : ''})`,
    init: () => ({ events: 0, actions: {}, firstEventAt: Number.POSITIVE_INFINITY, lastEventAt: Number.NEGATIVE_INFINITY, numeric: {} }),
    add(acc, event) {
      acc.events += 1;
      let action = event.action;
      // Counting keys only for an action new to the window: most events repeat one.
      if (acc.actions[action] === undefined && Object.keys(acc.actions).length >= maxActions) {
        action = OTHER_ACTION;
        shed += 1;
      }
      acc.actions[action] = (acc.actions[action] ?? 0) + 1;
      acc.firstEventAt = Math.min(acc.firstEventAt, event.timestamp);
      acc.lastEventAt = Math.max(acc.lastEventAt, event.timestamp);
      for (const name of numericProperties) {
        const value = event.properties[name];
        if (typeof value === 'number') acc.numeric[name] = mergeSummary(acc.numeric[name], { count: 1, sum: value, min: value, max: value });
      }
      return acc;
    },
    weight: (a) => a.events,
    drainShed() {
      const n = shed;
      shed = 0;
      return n;
    },
    // By hand, not structuredClone: it runs for every result and checkpoint row, and was a tenth of the worker's time.
    clone(a) {
      const numeric: Record<string, NumericSummary> = {};
      for (const name in a.numeric) numeric[name] = { ...a.numeric[name]! };
      return { events: a.events, actions: { ...a.actions }, firstEventAt: a.firstEventAt, lastEventAt: a.lastEventAt, numeric };
    },
    merge(a, b) {
      const actions = { ...a.actions };
      for (const [action, n] of Object.entries(b.actions)) actions[action] = (actions[action] ?? 0) + n;
      const numeric = { ...a.numeric };
      for (const [name, summary] of Object.entries(b.numeric)) numeric[name] = mergeSummary(numeric[name], summary);
      return {
        events: a.events + b.events,
        actions,
        firstEventAt: Math.min(a.firstEventAt, b.firstEventAt),
        lastEventAt: Math.max(a.lastEventAt, b.lastEventAt),
        numeric,
      };
    },
  };
}
