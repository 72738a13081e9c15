/**
 * The batch consumer against the real broker, with handlers that record what
 * they are given. A round that fails to finish after kafkajs was let go is
 * read again from its partitions' commits, with the handlers' state reset;
 * a round taken in meanwhile is not let go but read again too; nothing past
 * the failed round is committed before it finished.
 */
import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../logger.js';
import { uncommittedRecords } from '../../testing/kafka.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { waitFor } from '../../testing/wait-for.js';
import { runBatchConsumer } from './batch-consumer.js';
import type { BatchHandlers } from './round-handlers.js';
import { createKafka } from './client.js';

const config = isolatedConfig(inject('services'));
const logger = createLogger('error', 'batch-consumer-test');

const messages = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ partition: (from + i) % 2, value: `record ${from + i}` }));

/**
 * 100 records on a topic of two partitions, read by handlers whose first
 * round fails to finish, after `beforeFailing`; then every record must be
 * committed. Returns how often each record was taken in and finished, and
 * how often the handlers' state was reset.
 */
async function failFirstRound(name: string, beforeFailing: (ctx: { send(from: number, count: number): Promise<void>; takenIn: Map<string, number> }) => Promise<void>) {
  const topic = `${config.kafka.eventsTopic}.${name}`;
  const groupId = `${config.kafka.consumerGroup}-${name}`;
  const kafka = createKafka(config.kafka, logger);
  const admin = kafka.admin();
  const producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  const send = async (from: number, count: number) => void (await producer.send({ topic, messages: messages(from, count) }));
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await send(0, 100);

  const takenIn = new Map<string, number>();
  const finished: string[] = [];
  let resets = 0;
  let failFirst = true;
  const handlers: BatchHandlers = {
    async process(round, context) {
      const ids = round.flatMap((batch) => batch.records.map((record) => String(record.value)));
      for (const id of ids) takenIn.set(id, (takenIn.get(id) ?? 0) + 1);
      context.progress('stored');
      context.progress('folded');
      return {
        commits: round.map((batch) => ({ offset: (BigInt(batch.lastOffset) + 1n).toString(), metadata: '' })),
        async finish() {
          if (failFirst) {
            failFirst = false;
            await beforeFailing({ send, takenIn });
            throw new Error('the sink refused the round');
          }
          finished.push(...ids);
        },
      };
    },
    onAssignment: () => (resets += 1),
  };

  const consumer = await runBatchConsumer(kafka, { groupId, topic, partitionsConsumedConcurrently: 2 }, handlers, logger);
  try {
    await waitFor(async () => ((await uncommittedRecords(kafka, topic, groupId)) === 0 ? true : undefined), { what: 'every record committed' });
    return { takenIn, finished, resets };
  } finally {
    await consumer.stop(10_000);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
}

const ids = (count: number) => messages(0, count).map((m) => m.value);

describe('the batch consumer, when a round fails to finish', () => {
  it('reads it again from its partitions\' commits, with the state reset, and commits it once it finished', async () => {
    const { takenIn, finished, resets } = await failFirstRound('alone', async () => {});
    expect([...finished].sort()).toEqual(ids(100).sort()); // each finished once
    expect(ids(100).every((id) => takenIn.get(id) === 2)).toBe(true);
    expect(resets).toBe(2); // joining the group, then the rewind
  });

  it('does not let go the round taken in meanwhile, and reads both again', async () => {
    const { takenIn, finished, resets } = await failFirstRound('meanwhile', async ({ send, takenIn: seen }) => {
      // More records, taken in as the next round while this one is still finishing; then this one fails.
      await send(100, 100);
      await waitFor(() => (seen.has('record 199') ? true : undefined), { what: 'the next round taken in' });
    });
    expect([...finished].sort()).toEqual(ids(200).sort());
    expect(ids(200).every((id) => takenIn.get(id) === 2)).toBe(true);
    expect(resets).toBe(2);
  });
});
