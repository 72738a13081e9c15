/**
 * The dead-letter topic: records the worker cannot decode go there with the
 * reason and their origin in headers, so one poison record never blocks its
 * partition and nothing is dropped without a trace.
 */
import type { Kafka } from 'kafkajs';
import { connectOnce, createIdempotentProducer } from './client.js';
import type { ConsumedRecord } from './round-handlers.js';

export interface DeadLetter {
  record: ConsumedRecord;
  topic: string;
  partition: number;
  reason: string;
}

export interface DeadLetterSink {
  send(letters: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

export function createDeadLetterSink(kafka: Kafka, dlqTopic: string): DeadLetterSink {
  const producer = createIdempotentProducer(kafka);
  const connect = connectOnce(() => producer.connect());
  return {
    async send(letters) {
      if (letters.length === 0) return;
      await connect();
      await producer.send({
        topic: dlqTopic,
        acks: -1,
        messages: letters.map(({ record, topic, partition, reason }) => ({
          key: record.key,
          value: record.value,
          headers: {
            'streamtrack.dlq.reason': reason,
            'streamtrack.source.topic': topic,
            'streamtrack.source.partition': String(partition),
            'streamtrack.source.offset': record.offset,
          },
        })),
      });
    },
    async close() {
      await producer.disconnect();
    },
  };
}
