/**
 * A consumer-group member on kafkajs that hands fetched partition batches,
 * a round at a time, to the round driver (round-driver.ts: the rounds' life,
 * fencing, punctuation) and commits only after the handlers finished a
 * round: at-least-once delivery into the sinks. This module is the kafkajs
 * side alone: the consumer's settings, its events mapped to the driver's
 * assignment, revocation and heartbeats, and shutdown within a grace.
 *
 * A round is every batch kafkajs hands over in the same turn of the event
 * loop (src/stream/rounds.ts): with one kafkajs worker per partition, that is
 * the whole fetch response, written with one insert per table.
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../logger.js';
import { Ownership } from './ownership.js';
import { createRoundDriver } from './round-driver.js';
import type { BatchHandlers, ConsumerObserver } from './round-handlers.js';

export interface CommittedPosition {
  partition: number;
  offset: string;
  metadata: string | null;
}

export interface BatchConsumerOptions {
  groupId: string;
  topic: string;
  /** At least the partitions one member may hold, so a whole fetch forms one round. */
  partitionsConsumedConcurrently: number;
  /** Without a heartbeat for this long, the member's partitions go to another (default 10 s). */
  sessionTimeoutMs?: number;
  /** Wall time between two calls of the handlers' `punctuate` (none without it). */
  punctuateEveryMs?: number;
}

export interface RunningConsumer {
  /**
   * Finishes and commits what can be finished within `graceMs`, abandons
   * the rest (its partitions' next owner reads it again), leaves the group.
   */
  stop(graceMs: number): Promise<void>;
  /** In the group with an assignment, not rebalancing, stopped or crashed. */
  isMember(): boolean;
  /** Settles when the consumer crashed for good. */
  crashed: Promise<Error>;
}

/** A heartbeat this often: a tenth of the session, so a rebalance is seen within a second at the 10 s default. */
function heartbeatIntervalMs(sessionTimeoutMs: number): number {
  return Math.max(100, Math.floor(sessionTimeoutMs / 10));
}

/** Of a shutdown's grace, what is kept to leave the group and close the clients once the rounds are abandoned. */
function drainMs(graceMs: number): number {
  return Math.max(0, graceMs - Math.min(3_000, Math.floor(graceMs / 4)));
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
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
  const heartbeatEveryMs = heartbeatIntervalMs(sessionTimeoutMs);
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: heartbeatEveryMs,
    maxWaitTimeInMs: 250,
    // A fetch is one round, held in memory while its sinks write: 4 MB of
    // records (about 30,000 events) bounds the worker's memory in a catch-up.
    maxBytes: 4 * 1024 * 1024,
  });
  let crashed!: (error: Error) => void;
  const crashedPromise = new Promise<Error>((resolve) => (crashed = resolve));
  let member = false;
  /** kafkajs' heartbeat, as the last batch handed it over (one per consumer, whichever batch gives it). */
  let heartbeat: () => Promise<void> = async () => {};
  const ownership = new Ownership(sessionTimeoutMs);
  const driver = createRoundDriver(
    {
      commit: (offsets) => consumer.commitOffsets(offsets),
      seek: (position) => consumer.seek(position),
      heartbeat: () => heartbeat(),
    },
    handlers,
    { ownership, heartbeatEveryMs, ...(options.punctuateEveryMs ? { punctuateEveryMs: options.punctuateEveryMs } : {}), logger, ...(observer ? { observer } : {}) },
  );

  consumer.on(consumer.events.REBALANCING, () => (member = false));
  consumer.on(consumer.events.STOP, () => (member = false));
  consumer.on(consumer.events.HEARTBEAT, () => ownership.heartbeat('member'));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    member = true;
    driver.assigned();
    logger.info(
      { groupId: payload.groupId, memberId: payload.memberId, leader: payload.isLeader, assignment: payload.memberAssignment },
      'joined consumer group',
    );
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    member = false;
    ownership.revoked();
    logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) {
      driver.close();
      crashed(payload.error);
    }
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
    onPartitionsRevoked: () => driver.revoking(),
    eachBatch: async ({ batch, heartbeat: beat, isStale, resolveOffset }) => {
      heartbeat = beat;
      if (batch.isEmpty()) return;
      await driver.take({
        batch: {
          topic: batch.topic,
          partition: batch.partition,
          // kafkajs' own messages (a ConsumedRecord is a view of one): no copy of each record per round.
          records: batch.messages,
          firstOffset: batch.firstOffset()!,
          lastOffset: batch.lastOffset(),
        },
        isStale,
        resolveOffset,
        highWatermark: batch.highWatermark,
      });
    },
  });

  return {
    crashed: crashedPromise,
    async stop(graceMs) {
      const release = driver.stop(drainMs(graceMs));
      try {
        await consumer.disconnect();
      } finally {
        release();
      }
    },
    isMember: () => member,
  };
}
