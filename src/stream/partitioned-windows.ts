/**
 * A windowed topology over a consumer's partitions: one WindowStore, and so
 * one watermark, per Kafka partition. State is held while the partition is
 * assigned; after a rebalance the new owner restores it from the last
 * checkpoint and the watermark committed with the offset.
 *
 * Event time is the client's claim: an event moves its partition's
 * watermark to its time, but never beyond the time the API received it plus
 * the grace period. A few devices whose clocks run an hour fast then have
 * their own windows open an hour ahead, and close nobody else's.
 */
import type { TrackedEvent } from '../model/event.js';
import type { WindowedTopology } from './topology.js';
import { WindowStore, type Checkpoint, type LateEvent, type StoreStats, type WindowCheckpoint, type WindowResult } from './window-store.js';

export interface PositionedEvent {
  event: TrackedEvent;
  offset: bigint;
  /** Processed before the last restart or rebalance: rebuilds state, is not late again. */
  replayed: boolean;
}

export interface PartitionOutput<A> {
  results: WindowResult<A>[];
  late: LateEvent<TrackedEvent>[];
  stats: StoreStats;
  /** What changed in the partition's open windows, to be written before the commit. */
  checkpoint: Checkpoint<A>;
}

export class PartitionedWindows<A> {
  private readonly stores = new Map<number, WindowStore<TrackedEvent, A>>();

  constructor(readonly topology: WindowedTopology<A>) {}

  private store(partition: number): WindowStore<TrackedEvent, A> {
    let store = this.stores.get(partition);
    if (!store) {
      const t = this.topology;
      store = new WindowStore<TrackedEvent, A>({
        spec: t.window,
        graceMs: t.graceMs,
        emit: t.emit,
        late: t.late,
        key: t.groupBy.key,
        time: (event) => event.timestamp,
        watermarkTime: (event) => event.received_at + t.graceMs,
        aggregator: t.aggregator,
      });
      this.stores.set(partition, store);
    }
    return store;
  }

  /** Forgets every partition's state (the assignment changed). */
  reset(): void {
    this.stores.clear();
  }

  /** See WindowStore: resumeFrom, restore, uncertainUntil. */
  resume(partition: number, resumed: { watermark: number | undefined; windows: WindowCheckpoint<A>[]; uncertainBelow: bigint }): void {
    const store = this.store(partition);
    if (resumed.watermark !== undefined) store.resumeFrom(resumed.watermark);
    store.restore(resumed.windows);
    store.uncertainUntil(resumed.uncertainBelow);
  }

  watermark(partition: number): number {
    return this.store(partition).watermark;
  }

  /** Each held partition's watermark, open windows and late events so far: the state the worker shows. */
  state(): Array<{ partition: number } & StoreStats> {
    return [...this.stores].map(([partition, store]) => ({ partition, ...store.stats() })).sort((a, b) => a.partition - b.partition);
  }

  process(partition: number, events: PositionedEvent[]): PartitionOutput<A> {
    const store = this.store(partition);
    const late = events.flatMap(({ event, offset, replayed }) => store.add(event, offset, replayed));
    const results = store.advance();
    return { results, late, stats: store.stats(), checkpoint: store.checkpoint() };
  }
}
