/**
 * Publishing to Kafka with the durability StreamTrack promises: an idempotent
 * producer (no duplicates from its own retries), acks from all in-sync
 * replicas, and a deadline so a caller learns within seconds that Kafka is
 * unavailable instead of hanging.
 *
 * Records are batched like the Java producer's linger: a record waits at
 * most `lingerMs` from its arrival for company, and while one produce request
 * is in flight the next batch accumulates, so a request carries more records
 * as load grows. Time spent waiting for the request in flight counts towards
 * the linger: records that waited that long go as soon as it returns. The
 * queue is bounded: past `maxQueuedRecords` a publish fails at once (503)
 * rather than letting memory grow while Kafka is away.
 */
import type { Kafka } from 'kafkajs';
import { secondsSince } from '../observability/metrics.js';
import { connectOnce, createIdempotentProducer } from './client.js';
import { partitionForKey } from './partitioner.js';

export interface OutgoingRecord {
  key: string;
  value: Buffer;
}

export interface PublishedRecord {
  partition: number;
  offset: string;
}

export interface Publisher {
  /** Resolves once Kafka acknowledged every record, in the order given. */
  publish(topic: string, records: OutgoingRecord[]): Promise<PublishedRecord[]>;
  close(): Promise<void>;
}

export interface PublisherSettings {
  timeoutMs: number;
  lingerMs: number;
  maxBatchRecords: number;
  maxQueuedRecords: number;
}

/** Told about every produce request: for metrics. */
export interface ProduceObserver {
  acknowledged(records: number, seconds: number): void;
  failed(records: number): void;
}

const UNOBSERVED: ProduceObserver = { acknowledged: () => {}, failed: () => {} };

export const DEFAULT_PUBLISHER_SETTINGS: Omit<PublisherSettings, 'timeoutMs'> = {
  lingerMs: 2,
  maxBatchRecords: 5_000,
  maxQueuedRecords: 100_000,
};

/** Kafka did not acknowledge in time or is unreachable: the caller may retry later. */
export class PublishUnavailableError extends Error {
  readonly retriable = true;
}

/** One publish call's records, settled together, once. */
interface Pending {
  /** Keys as bytes, encoded once: for the partitioner and for kafkajs. */
  records: Array<{ key: Buffer; value: Buffer }>;
  /** performance.now() when queued. */
  queuedAt: number;
  partitions: number[];
  settled: boolean;
  resolve(published: PublishedRecord[]): void;
  reject(error: Error): void;
}

interface TopicQueue {
  pending: Pending[];
  pendingRecords: number;
  /** The calls of the produce request in flight. */
  sending: Pending[];
  timer: NodeJS.Timeout | undefined;
  inFlight: boolean;
  /** The topic's partition count, once known: records are partitioned here so each one's offset can be found in the answer. */
  partitions: number | undefined;
  loading: Promise<number> | undefined;
}

export function createPublisher(kafka: Kafka, settings: PublisherSettings, observer: ProduceObserver = UNOBSERVED): Publisher {
  const producer = createIdempotentProducer(kafka);
  const admin = kafka.admin();
  const connect = connectOnce(() => Promise.all([producer.connect(), admin.connect()]));
  const queues = new Map<string, TopicQueue>();
  let queued = 0;

  function queueFor(topic: string): TopicQueue {
    let queue = queues.get(topic);
    if (!queue) {
      queue = { pending: [], pendingRecords: 0, sending: [], timer: undefined, inFlight: false, partitions: undefined, loading: undefined };
      queues.set(topic, queue);
    }
    return queue;
  }

  function schedule(topic: string, queue: TopicQueue) {
    if (queue.inFlight || queue.timer || queue.pending.length === 0) return;
    const waited = performance.now() - queue.pending[0]!.queuedAt;
    const delay = queue.pendingRecords >= settings.maxBatchRecords ? 0 : Math.max(0, settings.lingerMs - waited);
    // No timer when nothing is left to wait for: even a 0 ms timeout costs a turn of at least 1 ms.
    if (delay === 0) void flush(topic, queue);
    else queue.timer = setTimeout(() => void flush(topic, queue), delay);
  }

  async function flush(topic: string, queue: TopicQueue) {
    queue.timer = undefined;
    if (queue.pending.length === 0) return; // every call waiting passed its deadline meanwhile
    queue.inFlight = true;
    // Whole publish calls, up to maxBatchRecords (at least one call, however large).
    let take = 0;
    let records = 0;
    while (take < queue.pending.length && (take === 0 || records + queue.pending[take]!.records.length <= settings.maxBatchRecords)) {
      records += queue.pending[take]!.records.length;
      take += 1;
    }
    const batch = queue.pending.splice(0, take);
    queue.sending = batch;
    queue.pendingRecords -= records;
    queued -= records;
    const started = performance.now();
    try {
      await connect();
      const metadata = await producer.send({
        topic,
        acks: -1,
        messages: batch.flatMap((call) =>
          call.records.map((record, i) => ({ key: record.key, value: record.value, partition: call.partitions[i]! })),
        ),
      });
      observer.acknowledged(records, secondsSince(started));
      // Within a partition the records got consecutive offsets, in the order sent.
      const nextOffset = new Map(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '-1')]));
      for (const call of batch) {
        settle(
          call,
          call.partitions.map((partition) => {
            const offset = nextOffset.get(partition) ?? -1n;
            nextOffset.set(partition, offset + 1n);
            return { partition, offset: offset.toString() };
          }),
        );
      }
    } catch (error) {
      observer.failed(records);
      const failure = new PublishUnavailableError(`Kafka unavailable: ${(error as Error).message}`, { cause: error });
      for (const call of batch) settle(call, failure);
    } finally {
      queue.sending = [];
      queue.inFlight = false;
      schedule(topic, queue);
    }
  }

  function settle(call: Pending, outcome: PublishedRecord[] | Error) {
    if (call.settled) return; // answered already: its deadline passed
    call.settled = true;
    if (outcome instanceof Error) call.reject(outcome);
    else call.resolve(outcome);
  }

  /**
   * Deadlines: one sweep for all calls rather than a timer each (two timers
   * per call were a visible share of a single-event request's CPU). A call
   * still queued is dropped and never sent; one in the request in flight is
   * answered, though Kafka may still store it.
   */
  function sweep() {
    const expiredBefore = performance.now() - settings.timeoutMs;
    const late = () => new PublishUnavailableError(`Kafka did not acknowledge within ${settings.timeoutMs} ms`);
    for (const queue of queues.values()) {
      for (const call of queue.sending) if (call.queuedAt < expiredBefore) settle(call, late());
      const expired = queue.pending.filter((call) => call.queuedAt < expiredBefore);
      if (expired.length === 0) continue;
      queue.pending = queue.pending.filter((call) => call.queuedAt >= expiredBefore);
      for (const call of expired) {
        queue.pendingRecords -= call.records.length;
        queued -= call.records.length;
        settle(call, late());
      }
    }
  }
  const sweeper = setInterval(sweep, Math.min(100, Math.ceil(settings.timeoutMs / 10)));
  sweeper.unref();

  /**
   * Loads the topic's partition count, once (a failed load is tried again by
   * the next call); the first calls wait for it within the deadline.
   */
  async function loadPartitionCount(topic: string, queue: TopicQueue): Promise<number> {
    queue.loading ??= connect()
      .then(() => admin.fetchTopicMetadata({ topics: [topic] }))
      .then(({ topics }) => (queue.partitions = topics[0]!.partitions.length))
      .catch((error: unknown) => {
        queue.loading = undefined;
        throw error;
      });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishUnavailableError(`Kafka did not answer within ${settings.timeoutMs} ms`)), settings.timeoutMs);
    });
    try {
      return await Promise.race([queue.loading, deadline]);
    } catch (error) {
      if (error instanceof PublishUnavailableError) throw error;
      throw new PublishUnavailableError(`Kafka unavailable: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async publish(topic, records) {
      if (records.length === 0) return [];
      if (queued + records.length > settings.maxQueuedRecords) {
        throw new PublishUnavailableError(`${queued} records already wait for Kafka; refusing more`);
      }
      const queue = queueFor(topic);
      const count = queue.partitions ?? (await loadPartitionCount(topic, queue));
      const keyed = records.map((record) => ({ key: Buffer.from(record.key), value: record.value }));
      const partitions = keyed.map((record) => partitionForKey(record.key, count));
      const published = new Promise<PublishedRecord[]>((resolve, reject) => {
        queue.pending.push({ records: keyed, queuedAt: performance.now(), partitions, settled: false, resolve, reject });
      });
      queue.pendingRecords += records.length;
      queued += records.length;
      schedule(topic, queue);
      return published;
    },
    async close() {
      clearInterval(sweeper);
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    },
  };
}
