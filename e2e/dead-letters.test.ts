/**
 * Poison records: a record that can never decode (not framed, an unknown
 * schema id, a truncated Avro body, a well-formed body breaking the
 * contract's logical types) lands in the dead-letter topic with the reason
 * and its origin, and the partition moves on to the records after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { deadLetterTopic } from '../src/kafka/dead-letters.js';
import { createRegistry, valueSubject } from '../src/serde/event-schemas.js';
import { encodeAvroFrame } from '../src/serde/wire-format.js';
import { readRecords, testKafka } from '../testing/kafka.js';
import { schemaVersionType } from '../testing/schemas.js';
import { Stack } from '../testing/stack.js';
import { acceptedIds } from '../testing/track-client.js';
import { waitFor } from '../testing/wait-for.js';

const stack = new Stack();
beforeAll(() => stack.start(1));
afterAll(() => stack.stop());

describe('poison records', () => {
  it('go to the dead-letter topic with the reason, and the partition moves on', async () => {
    const topic = stack.env.KAFKA_EVENTS_TOPIC!;
    const kafka = testKafka(loadConfig(stack.env).kafka);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const latestId = await createRegistry(stack.env.SCHEMA_REGISTRY_URL!).getLatestSchemaId(valueSubject(topic));
    const truncated = Buffer.from([0, 0, 0, 0, 0, 2, 0xff]);
    truncated.writeInt32BE(latestId, 1);
    // Avro has no UUID type of its own: an event_id that is not one encodes fine (v2 is the latest registered version).
    const notUuid = encodeAvroFrame(latestId, schemaVersionType(2), {
      event_id: 'not-a-uuid',
      user_id: 'poisoned',
      action: 'a',
      timestamp: Date.now(),
      received_at: Date.now(),
    });
    // All keyed like the valid event after them: the same partition, before it.
    await producer.send({
      topic,
      messages: [
        { key: 'poisoned', value: Buffer.from('{"user_id":"not avro"}') },
        { key: 'poisoned', value: Buffer.from([0, 0, 0, 0x7f, 0x7f, 2, 4]) },
        { key: 'poisoned', value: truncated },
        { key: 'poisoned', value: notUuid },
      ],
    });
    await producer.disconnect();

    const response = await fetch(`${stack.base}/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'poisoned', action: 'after_the_poison' }),
    });
    const [id] = await acceptedIds(response);
    await waitFor(async () => ((await stack.count(`SELECT count() AS n FROM events WHERE event_id = '${id}'`)) === 1 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the valid event after the poison records',
    });

    const letters = await readRecords(kafka, deadLetterTopic(topic), 4);
    const reasons = letters.map((l) => l.headers['streamtrack.dlq.reason']);
    expect(reasons).toEqual([
      expect.stringMatching(/^undecodable: magic byte must be 0, got 123$/),
      expect.stringMatching(/^undecodable: schema id 32639: not in the registry$/),
      expect.stringMatching(new RegExp(`^undecodable: Avro body does not decode with schema id ${latestId}:`)),
      'undecodable: event_id "not-a-uuid" is not a UUID',
    ]);
    expect(letters.every((l) => l.headers['streamtrack.source.topic'] === topic && l.key === 'poisoned')).toBe(true);
  });
});
