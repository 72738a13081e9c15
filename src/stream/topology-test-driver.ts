/**
 * A broker- and database-free test driver for topologies (Kafka Streams'
 * TopologyTestDriver is the model): pipe records into partitions, move the
 * wall clock, and read the rows each sink would get. It runs the same
 * engine the worker runs (PartitionedWindows, one store per partition) and
 * keeps each (project_id, event_id) once as the raw-events topology does,
 * so a topology definition's behaviour is tested as a plain function.
 *
 *   const driver = new TopologyTestDriver([userActivityTopology(config.topology)]);
 *   driver.pipe(0, events);
 *   driver.rows(activityMinutes)  // the change rows agg_user_activity_changes would get
 */
import type { TrackedEvent } from '../model/event.js';
import type { WindowSink } from '../storage/sinks.js';
import { PartitionedWindows, type PositionedEvent } from './partitioned-windows.js';
import type { WindowedTopology } from './topology.js';
import type { LateEvent, Punctuation, WindowResult } from './window-store.js';

export class TopologyTestDriver<A> {
  private readonly windows: PartitionedWindows<A>[];
  private readonly offsets = new Map<number, bigint>();
  private readonly seen = new Set<string>();
  private readonly results = new Map<WindowedTopology<A>, WindowResult<A>[]>();
  private readonly stored: TrackedEvent[] = [];
  private readonly lateEvents: LateEvent<TrackedEvent>[] = [];

  constructor(
    private readonly topologies: WindowedTopology<A>[],
    options: { punctuation?: Punctuation; now?: number } = {},
    /** The wall clock, in epoch milliseconds. */
    private now = options.now ?? Date.now(),
  ) {
    this.windows = topologies.map((t) => new PartitionedWindows(t, options.punctuation));
  }

  /** One round of records into a partition: each event_id's first record is stored and counted, later ones are duplicates. */
  pipe(partition: number, events: TrackedEvent[]): void {
    let offset = this.offsets.get(partition) ?? 0n;
    const positioned: PositionedEvent[] = [];
    for (const event of events) {
      const position = offset++;
      const id = `${event.project_id}\u001f${event.event_id}`;
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      this.stored.push(event);
      positioned.push({ event, offset: position, replayed: false });
    }
    this.offsets.set(partition, offset);
    this.windows.forEach((w, i) => {
      const output = w.process(partition, positioned, this.now);
      this.collect(this.topologies[i]!, output.results, output.late);
    });
  }

  /** Moves the wall clock and runs the punctuation of every partition held, each caught up (nothing left to read). */
  advanceWallClock(ms: number): void {
    this.now += ms;
    this.windows.forEach((w, i) => {
      for (const { partition } of w.state()) {
        const output = w.punctuate(partition, this.now, true);
        if (output) this.collect(this.topologies[i]!, output.results, output.late);
      }
    });
  }

  /** The rows `sink` would have been given so far, by every topology that writes to it. */
  rows<Row extends object>(sink: WindowSink<A, Row>): Row[] {
    return this.topologies.flatMap((t) => (t.sink === sink ? sink.rows(t.name, this.results.get(t) ?? []) : []));
  }

  /** The raw events the `events` sink would hold: each (project_id, event_id) once. */
  rawEvents(): TrackedEvent[] {
    return [...this.stored];
  }

  late(): LateEvent<TrackedEvent>[] {
    return [...this.lateEvents];
  }

  private collect(topology: WindowedTopology<A>, results: WindowResult<A>[], late: LateEvent<TrackedEvent>[]) {
    let list = this.results.get(topology);
    if (!list) this.results.set(topology, (list = []));
    list.push(...results);
    this.lateEvents.push(...late);
  }
}
