/**
 * What must exist before events flow, in one place: the ClickHouse
 * migrations, the events topic and its dead-letter topic, and the event
 * schemas in the registry. Each step is idempotent. Only the `init` command
 * runs them all, with the rights they need (DDL on the database, creating
 * topics); the API and the worker run with least privilege and create
 * nothing: on start they only register the schemas, and only with
 * SCHEMAS_REGISTER_ON_START (the registry has no per-process rights).
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

/** The steps the API and the worker run on start: no DDL, no topic creation (init's). */
export function startupSteps(config: Config, kafka: Kafka): Partial<Record<BootstrapStep, () => Promise<unknown>>> {
  const { schemas } = bootstrapSteps(config, kafka);
  return config.schemaRegistry.registerOnStart ? { schemas } : {};
}

/** Runs the steps in order; all must succeed. */
export async function runSteps(steps: Partial<Record<BootstrapStep, () => Promise<unknown>>>): Promise<void> {
  for (const run of Object.values(steps)) await run();
}
