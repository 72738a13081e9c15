/**
 * A consumer-group member that hands fetched partition batches, a round at a
 * time, to a processing function (an RxJS pipeline) and commits only after
 * that pipeline completed, at the commit points it names (an offset, and
 * metadata kept with it): at-least-once delivery into the sinks.
 *
 * A round is processed in two steps, and two rounds overlap: once round k is
 * taken in (for the worker: its raw events stored, its windows folded) and
 * round k-1 is finished, kafkajs is let go to fetch round k+1 while round k
 * finishes (its window writes) and commits. So at most two rounds are in
 * memory, finishes and commits keep the rounds' order, and the next fetch,
 * its decoding and its id lookups run while this round's windows are
 * written. Before the member gives up its partitions (a rebalance, leaving
 * the group on stop) it waits for the round still finishing, through a hook
 * in kafkajs' runner (patches/README.md), so no round of a partition is
 * still being written when its next owner starts on it. A round that fails
 * to finish is read again, as after a rejoin: its partitions go back to
 * their commits and the handlers' state is reset; a round taken in
 * meanwhile is not let go.
 *
 * Between rounds, a timer (`punctuateEveryMs`) lets the handlers do work
 * driven by the wall clock (the windows' punctuation) on the partitions
 * held: it runs only while no round is being taken in, is chained after
 * the round finishing, and commits nothing (the next round's commit carries
 * its effects); if it fails, the partitions are read again from their
 * commits, as after a round that failed to finish.
 *
 * A round is every batch kafkajs hands over in the same turn of the event
 * loop (src/stream/rounds.ts): with one kafkajs worker per partition, that is
 * the whole fetch response. The pipeline then writes each table once per
 * round instead of once per partition, so the number of ClickHouse statements
 * stays flat as the partitions a worker holds grow.
 */
import type { Consumer, Kafka } from 'kafkajs';
import { lastValueFrom, type Observable } from 'rxjs';
import type { Logger } from '../logger.js';
import { secondsSince } from '../observability/metrics.js';
import { gatherRounds } from '../stream/rounds.js';

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
  /** At least the partitions one member may hold, so a whole fetch forms one round. */
  partitionsConsumedConcurrently: number;
  /** Without a heartbeat for this long, the member's partitions go to another (default 30 s). */
  sessionTimeoutMs?: number;
  /** Wall time between two calls of the handlers' `punctuate` (none without it). */
  punctuateEveryMs?: number;
}

/** A partition held, as of its last round taken in. */
export interface HeldPartition {
  /** Its last batch: heartbeat, ownership, position. */
  batch: PartitionBatch;
  /** That batch reached the end of the partition: nothing was left to read. */
  caughtUp: boolean;
}

/** A batch in its round, with what kafkajs gave for it. */
interface RoundMember {
  batch: PartitionBatch;
  resolveOffset(offset: string): void;
  highWatermark: string;
  started: number;
}

export interface RunningConsumer {
  /** Finishes in-flight batches, commits them, leaves the group. */
  stop(): Promise<void>;
  /** In the group with an assignment, not rebalancing, stopped or crashed. */
  isMember(): boolean;
  /** Settles when the consumer crashed for good. */
  crashed: Promise<Error>;
}

/** A round taken in: its commit points, and what is left to do before they are committed. */
export interface TakenRound {
  /** One per batch of the round, in the same order. */
  commits: CommitPoint[];
  /** Subscribed once the previous round finished; nothing is committed unless it completes. */
  finish: Observable<unknown>;
}

export interface BatchHandlers {
  /** Takes in a round of batches (distinct partitions); the next round is taken in once this completes. */
  process(round: PartitionBatch[]): Observable<TakenRound>;
  /** The assignment changed: state kept per partition is no longer valid. */
  onAssignment(): void;
  /** Wall-clock work on the partitions held, between rounds: what to write, or undefined for nothing. */
  punctuate?(held: HeldPartition[]): Observable<unknown> | undefined;
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
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    // A fetch is one round, held in memory while its sinks write: 4 MB of
    // records (about 30,000 events) bounds the worker's memory in a catch-up.
    maxBytes: 4 * 1024 * 1024,
  });
  let crashed!: (error: Error) => void;
  const crashedPromise = new Promise<Error>((resolve) => (crashed = resolve));
  let member = false;
  /** The round let go to finish (its writes and commit): settles either way. */
  let finishing: Promise<void> = Promise.resolve();
  /** A round let go that failed to finish, until it is read again. */
  let unfinished: PartitionBatch[] | undefined;
  /** A round is being taken in: the handlers' state must not be reset under it. */
  let taking = false;
  /** Each partition's last round taken in, for punctuation; dropped with the handlers' state. */
  let held = new Map<number, HeldPartition>();
  /** Counts resets of the handlers' state: work computed before one is void. */
  let generation = 0;
  let punctuating = false;
  let stopping = false;

  function resetHandlers() {
    generation += 1;
    held = new Map();
    handlers.onAssignment();
  }

  consumer.on(consumer.events.REBALANCING, () => (member = false));
  consumer.on(consumer.events.STOP, () => (member = false));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    member = true;
    unfinished = undefined; // the new assignment starts from the commits
    resetHandlers();
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

  async function finishRound(members: RoundMember[], taken: TakenRound) {
    await lastValueFrom(taken.finish, { defaultValue: undefined });
    // A partition revoked meanwhile is left uncommitted: its new owner replays from the last commit.
    const owned = members.flatMap((member, i) => (member.batch.isStale() ? [] : [{ member, commit: taken.commits[i]! }]));
    if (owned.length > 0) {
      await consumer.commitOffsets(owned.map(({ member, commit }) => ({ topic: member.batch.topic, partition: member.batch.partition, ...commit })));
    }
    for (const { member } of owned) {
      const { batch } = member;
      observer?.committed({
        topic: batch.topic,
        partition: batch.partition,
        records: batch.records.length,
        seconds: secondsSince(member.started),
        lag: Number(BigInt(member.highWatermark) - BigInt(batch.lastOffset) - 1n),
      });
    }
  }

  /**
   * Reads a round that failed to finish again, as a rejoin would: its
   * partitions go back to where it began, which the last commits name, and
   * the handlers drop their state, to restore it from the commits and
   * checkpoints. Every other partition is already at its commit: a round is
   * let go only once the one before it finished.
   */
  function rewind() {
    const batches = unfinished!;
    unfinished = undefined;
    resetHandlers();
    for (const batch of batches) consumer.seek({ topic: batch.topic, partition: batch.partition, offset: batch.firstOffset });
    logger.warn({ partitions: batches.map((b) => b.partition) }, 'reading again a round that failed to finish');
  }

  const joinRound = gatherRounds<RoundMember>(async (gathered) => {
    // A batch fetched before a rewind's seek: its partition is read again from the seek.
    const members = gathered.filter((m) => !m.batch.isStale());
    if (members.length === 0) return;
    taking = true;
    let taken: TakenRound;
    let rewound = false;
    try {
      taken = await lastValueFrom(handlers.process(members.map((m) => m.batch)));
      await finishing;
    } finally {
      taking = false;
      // The previous round failed to finish while this one was taken in (or failed to be).
      if (unfinished) {
        rewind();
        rewound = true;
      }
    }
    // Taken in on state that is now dropped: not let go, so kafkajs fetches it again.
    if (rewound) return;
    for (const member of members) {
      if (member.batch.isStale()) continue;
      member.resolveOffset(member.batch.lastOffset); // advances the fetch position
      const caughtUp = BigInt(member.highWatermark) - BigInt(member.batch.lastOffset) - 1n <= 0n;
      held.set(member.batch.partition, { batch: member.batch, caughtUp });
    }
    finishing = finishRound(members, taken).catch((error: unknown) => {
      logger.warn({ err: error, partitions: members.map((m) => m.batch.partition) }, 'round failed to finish; not committed');
      unfinished = members.map((m) => m.batch);
      if (!taking) rewind();
    });
  });

  /**
   * Computed now (no round is being taken in, so the handlers' state is
   * still), written after the round finishing: writes keep the rounds' order.
   */
  function punctuate() {
    if (!handlers.punctuate || !member || stopping || taking || punctuating || unfinished) return;
    const partitions = [...held.values()].filter((h) => !h.batch.isStale());
    if (partitions.length === 0) return;
    const work = handlers.punctuate(partitions);
    if (!work) return;
    punctuating = true;
    const computedIn = generation;
    finishing = finishing.then(async () => {
      try {
        if (computedIn !== generation) return; // the state it was computed on is gone
        // Leaving the group: the next owner restores the windows and emits what is due; shutdown need not wait for it.
        if (stopping) return;
        await lastValueFrom(work, { defaultValue: undefined });
      } catch (error) {
        if (computedIn !== generation) return;
        logger.warn({ err: error, partitions: partitions.map((h) => h.batch.partition) }, 'punctuation failed to write; reading again from the commits');
        unfinished = unfinished ?? [];
        if (!taking) rewind();
      } finally {
        punctuating = false;
      }
    });
  }
  const punctuation = options.punctuateEveryMs && handlers.punctuate ? setInterval(punctuate, options.punctuateEveryMs) : undefined;
  punctuation?.unref();
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) clearInterval(punctuation);
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
    onPartitionsRevoked: () => finishing,
    eachBatch: async ({ batch, heartbeat, isStale, resolveOffset }) => {
      if (batch.isEmpty()) return;
      await joinRound({
        batch: {
          topic: batch.topic,
          partition: batch.partition,
          // kafkajs' own messages (a ConsumedRecord is a view of one): no copy of each record per round.
          records: batch.messages,
          firstOffset: batch.firstOffset()!,
          lastOffset: batch.lastOffset(),
          heartbeat,
          isStale,
        },
        resolveOffset,
        highWatermark: batch.highWatermark,
        started: performance.now(),
      });
    },
  });

  return {
    crashed: crashedPromise,
    stop: () => {
      stopping = true;
      clearInterval(punctuation);
      return consumer.disconnect();
    },
    isMember: () => member,
  };
}
