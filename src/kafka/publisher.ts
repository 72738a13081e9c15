/**
 * Publishing to Kafka with the durability StreamTrack promises: an idempotent
 * producer (no duplicates from its own retries), acks from all in-sync
 * replicas, and a deadline so a caller learns within seconds that Kafka is
 * unavailable instead of hanging.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';

export interface OutgoingRecord {
  key: string;
  value: Buffer;
}

export interface PublishedRecord {
  partition: number;
  offset: string;
}

export interface Publisher {
  publish(topic: string, record: OutgoingRecord): Promise<PublishedRecord>;
  close(): Promise<void>;
}

/** Kafka did not acknowledge in time or is unreachable: the caller may retry later. */
export class PublishUnavailableError extends Error {
  readonly retriable = true;
}

export function createPublisher(kafka: Kafka, timeoutMs: number): Publisher {
  // The default partitioner is murmur2 like the Java client's, so a user_id
  // lands in the same partition whichever client produced it.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  let connected: Promise<void> | undefined;

  async function withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishUnavailableError(`Kafka did not acknowledge within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      if (error instanceof PublishUnavailableError) throw error;
      throw new PublishUnavailableError(`Kafka unavailable: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async publish(topic, record) {
      connected ??= producer.connect().catch((error: unknown) => {
        connected = undefined;
        throw error;
      });
      const [meta] = await withDeadline(
        connected.then(() => producer.send({ topic, acks: -1, messages: [record] })),
      );
      if (!meta || meta.baseOffset === undefined) throw new PublishUnavailableError('Kafka returned no offset');
      return { partition: meta.partition, offset: meta.baseOffset };
    },
    async close() {
      await producer.disconnect();
    },
  };
}
