/**
 * A windowed topology over a consumer's partitions: one WindowStore, and so
 * one watermark, per Kafka partition. State lives only while the partition
 * is assigned; after a rebalance it is rebuilt by replay from the committed
 * offset, resuming at the watermark committed with it.
 */
import type { TrackedEvent } from '../model/event.js';
import type { WindowedTopology } from './topology.js';
import { WindowStore, type LateEvent, type StoreStats, type WindowResult } from './window-store.js';

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
  /** The lowest offset this partition's open windows need; undefined when none is open. */
  lowestNeededOffset: bigint | undefined;
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

  resume(partition: number, watermark: number): void {
    this.store(partition).resumeFrom(watermark);
  }

  watermark(partition: number): number {
    return this.store(partition).watermark;
  }

  process(partition: number, events: PositionedEvent[]): PartitionOutput<A> {
    const store = this.store(partition);
    const late = events.flatMap(({ event, offset, replayed }) => store.add(event, offset, replayed));
    return { results: store.advance(), late, stats: store.stats(), lowestNeededOffset: store.lowestNeededOffset() };
  }
}
