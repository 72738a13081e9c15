/**
 * The topology DSL: a windowed aggregation over the tracked events, written
 * the way Kafka Streams reads,
 *
 *   stream('user-activity-1m', 'events')
 *     .groupBy('user', userKey)
 *     .windowedBy(tumbling(minutes(1)), { grace: seconds(30), maxOpenWindows: 50_000 })
 *     .aggregate(activityAggregator())
 *     .emit(rolling(seconds(10)))
 *     .onLate('drop')
 *     .to(sink)
 *
 * and producing a plain value the engine runs (window-store.ts, one store per
 * partition in partitioned-windows.ts) and the worker describes. A new aggregation is a new definition in topology/, not
 * engine surgery.
 */
import type { TrackedEvent } from '../model/event.js';
import type { EventsSink, WindowSink } from '../storage/sinks.js';
import type { Aggregator } from './aggregates.js';
import type { EmitPolicy, LatePolicy } from './window-store.js';
import { describeWindow, type Millis, type WindowSpec } from './windows.js';

export interface GroupKey {
  project_id: string;
  user_id: string;
}

export interface WindowedTopology<A> {
  name: string;
  source: 'events';
  groupBy: { name: string; key(event: TrackedEvent): string; overflowKey?(key: string): string };
  window: WindowSpec;
  graceMs: Millis;
  /** Open windows per partition at most; events that would open more go to the group's overflow key (window-store.ts). */
  maxOpenWindows?: number;
  aggregator: Aggregator<TrackedEvent, A>;
  emit: EmitPolicy;
  late: LatePolicy;
  /** Where its results go (a sink of src/storage/sinks.ts). */
  sink: WindowSink<A, object>;
}

/** The raw-events topology: decode, dead letters, dedupe by (project_id, event_id), one sink. */
export interface RawTopology {
  name: string;
  source: 'events';
  /** What undecodable records and refused rows become. */
  deadLetters: '<topic>.dlq';
  sink: EventsSink;
}

export const rolling = (everyMs: Millis): EmitPolicy => ({ kind: 'rolling', everyMs });

const SEPARATOR = '\u001f';

/** Groups by project and user; the key splits back with `splitUserKey`. */
export function userKey(event: TrackedEvent): string {
  return `${event.project_id}${SEPARATOR}${event.user_id}`;
}

/** The user that events past the open-window cap are counted under, per project. */
export const OTHER_USER = '$other';

export function userOverflowKey(key: string): string {
  return `${splitUserKey(key).project_id}${SEPARATOR}${OTHER_USER}`;
}

export function splitUserKey(key: string): GroupKey {
  const at = key.indexOf(SEPARATOR);
  return { project_id: key.slice(0, at), user_id: key.slice(at + 1) };
}

/** Starts a definition: `stream(name, 'events').groupBy(...)...to(sink)`. */
export function stream(name: string, source: 'events') {
  return {
    groupBy: (groupName: string, key: (event: TrackedEvent) => string, overflowKey?: (key: string) => string) => ({
      windowedBy: (window: WindowSpec, { grace, maxOpenWindows }: { grace: Millis; maxOpenWindows?: number }) => ({
        aggregate: <A>(aggregator: Aggregator<TrackedEvent, A>) => ({
          emit: (emit: EmitPolicy) => ({
            onLate: (late: LatePolicy) => ({
              to: <Row extends object>(sink: WindowSink<A, Row>): WindowedTopology<A> => ({
                name,
                source,
                groupBy: overflowKey ? { name: groupName, key, overflowKey } : { name: groupName, key },
                window,
                graceMs: grace,
                ...(maxOpenWindows === undefined ? {} : { maxOpenWindows }),
                aggregator,
                emit,
                late,
                sink,
              }),
            }),
          }),
        }),
      }),
    }),
  };
}

function duration(ms: Millis): string {
  return describeWindow({ kind: 'tumbling', sizeMs: ms }).replace('tumbling ', '');
}

/** One line per topology, as the worker prints it on start. */
export function describeTopology<A>(topology: WindowedTopology<A>): string {
  const emit = topology.emit.kind === 'final' ? 'final' : `rolling every ${duration(topology.emit.everyMs)} of event time + final`;
  return [
    `${topology.name}: ${topology.source}`,
    'decode(by schema id)',
    `groupBy(${topology.groupBy.name})`,
    `windowedBy(${describeWindow(topology.window)}, grace ${duration(topology.graceMs)}${topology.maxOpenWindows === undefined ? '' : `, at most ${topology.maxOpenWindows} open per partition, the rest to ${OTHER_USER}`})`,
    `aggregate(${topology.aggregator.describe})`,
    `emit(${emit})`,
    `late(${topology.late})`,
    `to(${topology.sink.name})`,
  ].join(' -> ');
}

export function describeRawTopology(topology: RawTopology): string {
  return `${topology.name}: ${topology.source} -> decode(by schema id) -> branch(undecodable -> dead letters) -> dedupe(event_id) -> to(${topology.sink.name}) -> branch(refused by the table -> dead letters)`;
}
