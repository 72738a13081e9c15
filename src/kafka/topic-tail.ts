/**
 * A tail of a topic from its end, for watching (GET /live/events), never for
 * processing: a consumer group of its own (the prefix the API's ACL names,
 * then a random part), positioned at each partition's end when it joins,
 * and never committed, so it holds no offsets that could ever be resumed or
 * lag behind. PostHog's livestream reads its topic the same way.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';

export interface TailRecord {
  partition: number;
  /** The record's offset: Kafka offsets are 64-bit, but a JS number is exact to 2^53. */
  offset: number;
  value: Buffer | null;
}

export interface TailHandlers {
  /** The partitions and the offset the tail reads next in each, once it joined and seeked. */
  ready(next: Map<number, number>): void;
  records(records: TailRecord[]): Promise<void> | void;
  failed(error: Error): void;
}

export interface TopicTail {
  stop(): Promise<void>;
}

export async function startTopicTail(kafka: Kafka, topic: string, groupPrefix: string, handlers: TailHandlers): Promise<TopicTail> {
  const consumer: Consumer = kafka.consumer({
    groupId: `${groupPrefix}${randomUUID()}`,
    // Alone in its group: nothing to balance, and a quick rejoin after a broker hiccup.
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 100,
    retry: { retries: 5 },
  });
  const admin = kafka.admin();
  await Promise.all([consumer.connect(), admin.connect()]);
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) handlers.failed(payload.error);
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const partitions = payload.memberAssignment[topic] ?? [];
    // The ends as of now: what is published after this is tailed, nothing before.
    void admin.fetchTopicOffsets(topic).then(
      (ends) => {
        const next = new Map<number, number>();
        for (const { partition, offset } of ends) {
          if (!partitions.includes(partition)) continue;
          consumer.seek({ topic, partition, offset });
          next.set(partition, Number(offset));
        }
        handlers.ready(next);
      },
      (error: Error) => handlers.failed(error),
    );
  });
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const records = batch.messages.map((m) => ({ partition: batch.partition, offset: Number(m.offset), value: m.value }));
      if (records.length > 0) await handlers.records(records);
    },
  });
  return {
    async stop() {
      await Promise.allSettled([consumer.disconnect(), admin.disconnect()]);
    },
  };
}
