/**
 * Offsets as the broker sees them, for GET /pipeline: each partition's end
 * and start, a consumer group's committed offsets (its lag), through one
 * admin client kept connected. Needs Describe on the topics and the group,
 * nothing more (src/kafka/acls.ts).
 */
import type { Admin, Kafka } from 'kafkajs';
import { connectOnce } from './client.js';

export interface PartitionOffsets {
  partition: number;
  /** The offset the next record will get. */
  end: number;
  /** The oldest offset still kept. */
  start: number;
}

export interface GroupLag {
  partition: number;
  /** The group's committed offset (the next it reads), null when it has committed none. */
  committed: number | null;
  lag: number;
}

export function createTopicOffsets(kafka: Kafka) {
  const admin: Admin = kafka.admin({ retry: { retries: 1 } });
  const connect = connectOnce(() => admin.connect());

  async function offsets(topic: string): Promise<PartitionOffsets[]> {
    await connect();
    const found = await admin.fetchTopicOffsets(topic);
    return found.map((p) => ({ partition: p.partition, end: Number(p.high), start: Number(p.low) })).sort((a, b) => a.partition - b.partition);
  }

  return {
    offsets,
    /** The group's lag per partition of `topic`: the end less the committed offset (or less the start, before any commit). */
    async lag(groupId: string, topic: string, ends: PartitionOffsets[]): Promise<GroupLag[]> {
      await connect();
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends.map(({ partition, end, start }) => {
        const offset = byPartition.get(partition);
        const at = offset === undefined || offset < 0 ? null : offset;
        return { partition, committed: at, lag: Math.max(0, end - (at ?? start)) };
      });
    },
    async close() {
      await admin.disconnect();
    },
  };
}

export type TopicOffsets = ReturnType<typeof createTopicOffsets>;
