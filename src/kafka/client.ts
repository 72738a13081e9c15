/**
 * The one place StreamTrack touches kafkajs. kafkajs is in maintenance mode:
 * every export of this folder pins what a move to another client must
 * provide, so such a move is this folder's change alone.
 */
import { Kafka, Partitioners, logLevel, type LogEntry, type Producer } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(config: Config['kafka'], logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    ...(config.sasl && { sasl: { ...config.sasl } }),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[LEVEL_NAMES[level] ?? 'info'](rest, message);
      },
  });
}

/**
 * An idempotent producer: the broker drops duplicates from its retries.
 * One request in flight, because kafkajs numbers a request's records when it
 * sends them and rolls the numbers back when it fails, which is only sound
 * with one outstanding. The default partitioner is murmur2 like the Java
 * client's, so a key lands in the same partition whichever client produced it.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}

/** `connect` run once; a failed attempt is forgotten so the next call tries again. */
export function connectOnce(connect: () => Promise<unknown>): () => Promise<void> {
  let connected: Promise<void> | undefined;
  return () => {
    connected ??= connect().then(
      () => undefined,
      (error: unknown) => {
        connected = undefined;
        throw error;
      },
    );
    return connected;
  };
}

/**
 * Creates the topic if it is missing; an existing topic is left as it is.
 * Several processes may start at once (API, workers, init), and a broker that
 * has just started may not know a new topic's leaders yet: losing the race to
 * create it is fine once its metadata answers, and retriable errors are
 * retried for a while.
 */
export async function ensureTopic(kafka: Kafka, topic: string, partitions: number, attempts = 6): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        // Checked first because kafkajs logs an existing topic as a creation error.
        if ((await admin.listTopics()).includes(topic)) return;
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
        return;
      } catch (error) {
        const known = await admin.fetchTopicMetadata({ topics: [topic] }).then(() => true, () => false);
        if (known) return;
        if (!(error as { retriable?: boolean }).retriable || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** Reachability check for /readyz: a metadata round trip to the cluster. */
export async function describeCluster(kafka: Kafka): Promise<{ brokers: number }> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    return { brokers: cluster.brokers.length };
  } finally {
    await admin.disconnect();
  }
}
