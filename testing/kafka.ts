/** Kafka helpers for tests: what a topic holds, read back from the real broker. */
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../src/config.js';

/** A client of the test's broker with the config's credentials (the services' super user in isolatedConfig). */
export function testKafka({ brokers, sasl, ssl }: Pick<Config['kafka'], 'brokers' | 'sasl' | 'ssl'>): Kafka {
  return new Kafka({ clientId: 'streamtrack-tests', brokers, ssl, ...(sasl && { sasl: { ...sasl } }), logLevel: logLevel.NOTHING });
}

/** Number of records ever written to the topic (sum of high watermarks). */
export async function recordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Records in the topic not yet committed by the consumer group (a partition it never committed counts whole). */
export async function uncommittedRecords(kafka: Kafka, topic: string, groupId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    return ends.reduce((sum, end) => {
      const done = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? 0);
      return sum + Number(end.high) - Math.max(0, done);
    }, 0);
  } finally {
    await admin.disconnect();
  }
}

export interface RawRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /** The record's timestamp (epoch ms, as text): its producer's clock. */
  timestamp: string;
}

/** Reads the topic from the beginning until `count` records arrived. */
export async function readRecords(kafka: Kafka, topic: string, count: number, timeoutMs = 30_000): Promise<RawRecord[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const records: RawRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${records.length}/${count} records within ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          records.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value!, headers, timestamp: message.timestamp });
          if (records.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** The consumer group's committed offset per partition of the topic (-1: none yet). */
export async function committedOffsets(kafka: Kafka, topic: string, groupId: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}
