/**
 * Events produced straight to the events topic, as the API would publish
 * them (Confluent wire format, the latest registered schema, keyed by user),
 * in big batches: a backlog of hundreds of thousands in seconds, without
 * the API's per-request work.
 */
import { randomUUID } from 'node:crypto';
import { CompressionTypes, Partitioners, type Kafka } from 'kafkajs';
import { createRegistry, valueSubject } from '../src/serde/event-schemas.js';
import { encodeAvroFrame } from '../src/serde/wire-format.js';
import { schemaVersionType } from './schemas.js';

export interface ProducedEvent {
  user_id: string;
  action: string;
  timestamp: number;
  properties?: Record<string, number | string | boolean | null>;
  event_id?: string;
}

/**
 * Produces the events (the schema registered as v2 under the topic's
 * subject); resolves once Kafka acknowledged them all, with how many
 * records and value bytes it produced.
 */
export async function produceEvents(
  kafka: Kafka,
  topic: string,
  registryUrl: string,
  events: Iterable<ProducedEvent>,
  batch = 10_000,
): Promise<{ records: number; bytes: number }> {
  const schemaId = await createRegistry(registryUrl).getRegistryId(valueSubject(topic), 2);
  const type = schemaVersionType(2);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  let produced = 0;
  let bytes = 0;
  try {
    let messages: Array<{ key: string; value: Buffer }> = [];
    const flush = async () => {
      if (messages.length === 0) return;
      await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.None });
      produced += messages.length;
      messages = [];
    };
    for (const e of events) {
      const value = encodeAvroFrame(schemaId, type, {
        event_id: e.event_id ?? randomUUID(),
        project_id: 'default',
        user_id: e.user_id,
        action: e.action,
        timestamp: e.timestamp,
        sent_at: null,
        received_at: Date.now(),
        session_id: null,
        properties: e.properties ?? {},
        warnings: [],
        context: null,
      });
      messages.push({ key: e.user_id, value });
      bytes += value.length;
      if (messages.length >= batch) await flush();
    }
    await flush();
    return { records: produced, bytes };
  } finally {
    await producer.disconnect();
  }
}
