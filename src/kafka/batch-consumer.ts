/**
 * A consumer-group member that hands each fetched partition batch to a
 * processing function (an RxJS pipeline) and commits the batch's offsets only
 * after that pipeline completed: at-least-once delivery into the sinks.
 * kafkajs waits for the pipeline before fetching more from that partition,
 * which is the backpressure.
 */
import type { Consumer, Kafka } from 'kafkajs';
import { lastValueFrom, type Observable } from 'rxjs';
import type { Logger } from '../logger.js';

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

export interface BatchConsumerOptions {
  groupId: string;
  topic: string;
  partitionsConsumedConcurrently: number;
}

export interface RunningConsumer {
  /** Finishes in-flight batches, commits them, leaves the group. */
  stop(): Promise<void>;
  /** Settles when the consumer crashed for good. */
  crashed: Promise<Error>;
}

export async function runBatchConsumer(
  kafka: Kafka,
  options: BatchConsumerOptions,
  process: (batch: PartitionBatch) => Observable<unknown>,
  logger: Logger,
): Promise<RunningConsumer> {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
  });
  let crashed!: (error: Error) => void;
  const crashedPromise = new Promise<Error>((resolve) => (crashed = resolve));

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    logger.info(
      { groupId: payload.groupId, memberId: payload.memberId, leader: payload.isLeader, assignment: payload.memberAssignment },
      'joined consumer group',
    );
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
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
      const partitionBatch: PartitionBatch = {
        topic: batch.topic,
        partition: batch.partition,
        records: batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value })),
        firstOffset: batch.firstOffset()!,
        lastOffset: batch.lastOffset(),
        heartbeat,
        isStale,
      };
      await lastValueFrom(process(partitionBatch), { defaultValue: undefined });
      if (isStale()) return; // revoked meanwhile: the new owner replays from the last commit
      resolveOffset(partitionBatch.lastOffset); // advances this member's fetch position
      const next = (BigInt(partitionBatch.lastOffset) + 1n).toString();
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    },
  });

  return {
    crashed: crashedPromise,
    stop: () => consumer.disconnect(),
  };
}
