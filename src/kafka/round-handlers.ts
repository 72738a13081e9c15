/**
 * The contract between the round driver (round-driver.ts) and the handlers
 * it runs rounds through (the worker's pipeline): what a round is made of,
 * what its work may ask while it runs, what taking it in must return, and
 * the consumer as the driver uses it (kafkajs in batch-consumer.ts, a fake
 * in tests).
 */
export interface ConsumedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  firstOffset: string;
  lastOffset: string;
}

/** Where to resume from after a restart: the offset and what the pipeline needs to resume there. */
export interface CommitPoint {
  offset: string;
  metadata: string;
}

/** A partition held, as of its last round taken in. */
export interface HeldPartition {
  batch: PartitionBatch;
  /** That batch reached the end of the partition: nothing was left to read. */
  caughtUp: boolean;
}

/** What a round's work may ask while it runs. */
export interface RoundContext {
  /** Still this member's to write and commit: false once its term ended (revoked, evicted, lease lapsed, shutdown grace spent). */
  owned(): boolean;
  /** Aborted when the round stops being owned: waits and retries end at once. */
  signal: AbortSignal;
  /** The round's progress while it is taken in. */
  progress(state: 'stored' | 'folded'): void;
}

/** A round taken in: its commit points, and what is left to do before they are committed. */
export interface TakenRound {
  /** One per batch of the round, in the same order. */
  commits: CommitPoint[];
  /** Run once the previous round finished; nothing is committed unless it resolves. */
  finish(): Promise<void>;
}

export interface BatchHandlers {
  /** Takes in a round of batches (distinct partitions), through `stored` and `folded`. */
  process(round: PartitionBatch[], context: RoundContext): Promise<TakenRound>;
  /** The assignment changed, or a round is read again: state kept per partition is no longer valid. */
  onAssignment(): void;
  /** Wall-clock work on the partitions held, between rounds: what to write, or undefined for nothing. */
  punctuate?(held: HeldPartition[], context: RoundContext): (() => Promise<void>) | undefined;
}

/** Told about every committed batch and assignment change: for metrics. */
export interface ConsumerObserver {
  committed(batch: { topic: string; partition: number; records: number; seconds: number; lag: number }): void;
  assigned(): void;
}

/** The consumer as the driver uses it (kafkajs in batch-consumer.ts, a fake in tests). */
export interface ConsumerPort {
  commit(offsets: Array<{ topic: string; partition: number } & CommitPoint>): Promise<void>;
  seek(position: { topic: string; partition: number; offset: string }): void;
  /** A heartbeat to the group coordinator (sent if the heartbeat interval passed); rejects with the broker's error. */
  heartbeat(): Promise<void>;
}

/** A batch as kafkajs hands it over. */
export interface TakenBatch {
  batch: PartitionBatch;
  /** Sought since it was fetched: its partition is read again from the seek. */
  isStale(): boolean;
  /** Advances the fetch position past the batch. */
  resolveOffset(offset: string): void;
  highWatermark: string;
}

/** The work of a round that stopped being owned, or ran out of shutdown grace: left to the partitions' next reading. */
export class AbandonedError extends Error {}
