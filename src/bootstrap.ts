/**
 * What must exist before events flow, in one place: the ClickHouse
 * migrations, the events topic and its dead-letter topic, and the event
 * schemas in the registry. Each step is idempotent; the `init` command, the
 * API and the worker all run them on start.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from './config.js';
import { ensureTopic } from './kafka/client.js';
import { deadLetterTopic } from './kafka/dead-letters.js';
import { createRegistry, registerEventSchemas, valueSubject } from './serde/event-schemas.js';
import { migrate } from './storage/migrations.js';

export type BootstrapStep = 'migrations' | 'topics' | 'schemas';

export function bootstrapSteps(config: Config, kafka: Kafka): Record<BootstrapStep, () => Promise<unknown>> {
  const topic = config.kafka.eventsTopic;
  return {
    migrations: () => migrate(config.clickhouse),
    topics: async () => {
      await ensureTopic(kafka, topic, config.kafka.eventsPartitions);
      await ensureTopic(kafka, deadLetterTopic(topic), config.kafka.eventsPartitions);
    },
    schemas: () => registerEventSchemas(createRegistry(config.schemaRegistry.url), valueSubject(topic)),
  };
}

/** Runs every step; all must succeed. */
export async function bootstrap(config: Config, kafka: Kafka): Promise<void> {
  for (const run of Object.values(bootstrapSteps(config, kafka))) await run();
}
