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
import {
  WindowStore,
  type Checkpoint,
  type LateEvent,
  type Punctuation,
  type StoreStats,
  type WindowCheckpoint,
  type WindowResult,
} from './window-store.js';

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
  /** Events folded into an overflow bucket by this call: windows at their cap (by the store) or actions (by the aggregator). */
  shed: { windows: number; actions: number };
}

export class PartitionedWindows<A> {
  private readonly stores = new Map<number, WindowStore<TrackedEvent, A>>();

  constructor(
    readonly topology: WindowedTopology<A>,
    /** Wall-clock punctuation of every partition's store (window-store.ts). */
    private readonly punctuation?: Punctuation,
  ) {}

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
        ...(this.punctuation ? { punctuation: this.punctuation } : {}),
        ...(t.maxOpenWindows === undefined ? {} : { maxOpenWindows: t.maxOpenWindows, overflowKey: t.groupBy.overflowKey }),
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
  resume(partition: number, resumed: { watermark: number | undefined; windows: WindowCheckpoint<A>[]; uncertainBelow: bigint }, now: number): void {
    const store = this.store(partition);
    store.tick(now);
    store.resumeFrom(resumed.watermark ?? Number.NEGATIVE_INFINITY);
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

  /** Whether this partition's state is held (it was resumed, or processed). */
  holds(partition: number): boolean {
    return this.stores.has(partition);
  }

  /** `now`: the wall time, for punctuation. */
  process(partition: number, events: PositionedEvent[], now: number): PartitionOutput<A> {
    const store = this.store(partition);
    store.tick(now);
    const shedBefore = store.stats().shedEvents;
    const late = events.flatMap(({ event, offset, replayed }) => store.add(event, offset, replayed));
    const results = store.advance();
    const stats = store.stats();
    const shed = { windows: stats.shedEvents - shedBefore, actions: this.topology.aggregator.drainShed?.() ?? 0 };
    return { results, late, stats, checkpoint: store.checkpoint(), shed };
  }

  /**
   * Wall-clock punctuation between rounds: the watermark of an idle
   * partition (`caughtUp`: nothing left to read) flows on, and what is due
   * is emitted. Undefined when nothing changed.
   */
  punctuate(partition: number, now: number, caughtUp: boolean): PartitionOutput<A> | undefined {
    const store = this.stores.get(partition);
    if (!store) return undefined;
    store.tick(now);
    const moved = store.advanceIdle(caughtUp);
    const results = store.advance();
    const checkpoint = store.checkpoint();
    if (!moved && results.length === 0 && checkpoint.open.length === 0 && checkpoint.gone.length === 0) return undefined;
    return { results, late: [], stats: store.stats(), checkpoint, shed: { windows: 0, actions: 0 } };
  }
}
