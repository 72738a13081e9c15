/**
 * A consumer-group member that hands each fetched partition batch to a
 * processing function (an RxJS pipeline) and commits only after that
 * pipeline completed, at the commit point it names (an offset, and metadata
 * kept with it): at-least-once delivery into the sinks. kafkajs waits for
 * the pipeline before fetching more from that partition, which is the
 * backpressure.
 */
import type { Consumer, Kafka } from 'kafkajs';
import { lastValueFrom, type Observable } from 'rxjs';
import type { Logger } from '../logger.js';
import { secondsSince } from '../observability/metrics.js';

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
  heartbeat(): Promise<void>;
  /** True once the partition was revoked from this member: stop, do not commit. */
  isStale(): boolean;
}

/** Where to resume from after a restart: the offset and what the pipeline needs to resume there. */
export interface CommitPoint {
  offset: string;
  metadata: string;
}

export interface CommittedPosition {
  partition: number;
  offset: string;
  metadata: string | null;
}

export interface BatchConsumerOptions {
  groupId: string;
  topic: string;
  partitionsConsumedConcurrently: number;
}

export interface RunningConsumer {
  /** Finishes in-flight batches, commits them, leaves the group. */
  stop(): Promise<void>;
  /** In the group with an assignment, not rebalancing, stopped or crashed. */
  isMember(): boolean;
  /** Settles when the consumer crashed for good. */
  crashed: Promise<Error>;
}

export interface BatchHandlers {
  /** Turns a batch into its commit point; nothing is committed unless it completes. */
  process(batch: PartitionBatch): Observable<CommitPoint>;
  /** The assignment changed: state kept per partition is no longer valid. */
  onAssignment(): void;
}

/** Told about every committed batch and assignment change: for metrics. */
export interface ConsumerObserver {
  committed(batch: { topic: string; partition: number; records: number; seconds: number; lag: number }): void;
  assigned(): void;
}

/** The group's committed offsets and metadata for the topic. */
export async function committedPositions(kafka: Kafka, groupId: string, topic: string): Promise<CommittedPosition[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).map(({ partition, offset, metadata }) => ({ partition, offset, metadata }));
  } finally {
    await admin.disconnect();
  }
}

export async function runBatchConsumer(
  kafka: Kafka,
  options: BatchConsumerOptions,
  handlers: BatchHandlers,
  logger: Logger,
  observer?: ConsumerObserver,
): Promise<RunningConsumer> {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
  });
  let crashed!: (error: Error) => void;
  const crashedPromise = new Promise<Error>((resolve) => (crashed = resolve));
  let member = false;

  consumer.on(consumer.events.REBALANCING, () => (member = false));
  consumer.on(consumer.events.STOP, () => (member = false));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    member = true;
    handlers.onAssignment();
    observer?.assigned();
    logger.info(
      { groupId: payload.groupId, memberId: payload.memberId, leader: payload.isLeader, assignment: payload.memberAssignment },
      'joined consumer group',
    );
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    member = false;
    logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) crashed(payload.error);
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
    eachBatch: async ({ batch, heartbeat, isStale, resolveOffset }) => {
      if (batch.isEmpty()) return;
      const started = performance.now();
      const partitionBatch: PartitionBatch = {
        topic: batch.topic,
        partition: batch.partition,
        records: batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value })),
        firstOffset: batch.firstOffset()!,
        lastOffset: batch.lastOffset(),
        heartbeat,
        isStale,
      };
      const commit = await lastValueFrom(handlers.process(partitionBatch));
      if (isStale()) return; // revoked meanwhile: the new owner replays from the last commit
      resolveOffset(partitionBatch.lastOffset); // advances this member's fetch position
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, ...commit }]);
      observer?.committed({
        topic: batch.topic,
        partition: batch.partition,
        records: partitionBatch.records.length,
        seconds: secondsSince(started),
        lag: Number(BigInt(batch.highWatermark) - BigInt(partitionBatch.lastOffset) - 1n),
      });
    },
  });

  return {
    crashed: crashedPromise,
    stop: () => consumer.disconnect(),
    isMember: () => member,
  };
}
