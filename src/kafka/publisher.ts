/**
 * Publishing to Kafka with the durability StreamTrack promises: an idempotent
 * producer (no duplicates from its own retries), acks from all in-sync
 * replicas, and a deadline so a caller learns within seconds that Kafka is
 * unavailable instead of hanging.
 *
 * Records are batched like the Java producer's linger: they wait up to
 * `lingerMs` for company, and while one produce request is in flight the next
 * batch accumulates, so a request carries more records as load grows. The
 * queue is bounded: past `maxQueuedRecords` a publish fails at once (503)
 * rather than letting memory grow while Kafka is away.
 */
import { Partitioners, type Kafka } from 'kafkajs';
import { secondsSince } from '../observability/metrics.js';
import { connectOnce, createIdempotentProducer } from './client.js';

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

/** One publish call's records, settled together. */
interface Pending {
  records: OutgoingRecord[];
  partitions: number[];
  resolve(published: PublishedRecord[]): void;
  reject(error: Error): void;
}

interface TopicQueue {
  pending: Pending[];
  pendingRecords: number;
  timer: NodeJS.Timeout | undefined;
  inFlight: boolean;
  partitions: Promise<number> | undefined;
}

// The producer's own partitioner, run here so each record's offset can be
// found in the per-partition answer.
const partitioner = Partitioners.DefaultPartitioner();

export function createPublisher(kafka: Kafka, settings: PublisherSettings, observer: ProduceObserver = UNOBSERVED): Publisher {
  const producer = createIdempotentProducer(kafka);
  const admin = kafka.admin();
  const connect = connectOnce(() => Promise.all([producer.connect(), admin.connect()]));
  const queues = new Map<string, TopicQueue>();
  let queued = 0;

  function partitionCount(topic: string, queue: TopicQueue): Promise<number> {
    queue.partitions ??= connect()
      .then(() => admin.fetchTopicMetadata({ topics: [topic] }))
      .then(({ topics }) => topics[0]!.partitions.length)
      .catch((error: unknown) => {
        queue.partitions = undefined;
        throw error;
      });
    return queue.partitions;
  }

  function queueFor(topic: string): TopicQueue {
    let queue = queues.get(topic);
    if (!queue) {
      queue = { pending: [], pendingRecords: 0, timer: undefined, inFlight: false, partitions: undefined };
      queues.set(topic, queue);
    }
    return queue;
  }

  function schedule(topic: string, queue: TopicQueue) {
    if (queue.inFlight || queue.timer || queue.pending.length === 0) return;
    const delay = queue.pendingRecords >= settings.maxBatchRecords ? 0 : settings.lingerMs;
    queue.timer = setTimeout(() => void flush(topic, queue), delay);
  }

  async function flush(topic: string, queue: TopicQueue) {
    queue.timer = undefined;
    queue.inFlight = true;
    // Whole publish calls, up to maxBatchRecords (at least one call, however large).
    let take = 0;
    let records = 0;
    while (take < queue.pending.length && (take === 0 || records + queue.pending[take]!.records.length <= settings.maxBatchRecords)) {
      records += queue.pending[take]!.records.length;
      take += 1;
    }
    const batch = queue.pending.splice(0, take);
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
        call.resolve(
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
      for (const call of batch) call.reject(failure);
    } finally {
      queue.inFlight = false;
      schedule(topic, queue);
    }
  }

  function withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PublishUnavailableError(`Kafka did not acknowledge within ${settings.timeoutMs} ms`)),
        settings.timeoutMs,
      );
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }

  return {
    async publish(topic, records) {
      if (records.length === 0) return [];
      if (queued + records.length > settings.maxQueuedRecords) {
        throw new PublishUnavailableError(`${queued} records already wait for Kafka; refusing more`);
      }
      const queue = queueFor(topic);
      const partitionTotal = await withDeadline(partitionCount(topic, queue)).catch((error: unknown) => {
        if (error instanceof PublishUnavailableError) throw error;
        throw new PublishUnavailableError(`Kafka unavailable: ${(error as Error).message}`, { cause: error });
      });
      const partitionMetadata = Array.from({ length: partitionTotal }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
      const partitions = records.map((record) => partitioner({ topic, partitionMetadata, message: record }));
      const published = new Promise<PublishedRecord[]>((resolve, reject) => {
        queue.pending.push({ records, partitions, resolve, reject });
      });
      queue.pendingRecords += records.length;
      queued += records.length;
      schedule(topic, queue);
      return withDeadline(published);
    },
    async close() {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    },
  };
}
