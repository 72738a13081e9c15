/** The API app in process, wired to the real services with an isolated config. */
import type { Config } from '../src/config.js';
import { createApp } from '../src/api/app.js';
import { bootstrap } from '../src/bootstrap.js';
import { createKafka } from '../src/kafka/client.js';
import { createPublisher, type Publisher } from '../src/kafka/publisher.js';
import { createLogger } from '../src/logger.js';
import { createEventSerde, createRegistry, valueSubject } from '../src/serde/event-serde.js';
import { createClickHouse } from '../src/storage/clickhouse.js';

export async function inProcessApi(config: Config) {
  const logger = createLogger('silent', 'test-api');
  const kafka = createKafka(config.kafka, logger);
  const registry = createRegistry(config.schemaRegistry.url);
  const subject = valueSubject(config.kafka.eventsTopic);
  await bootstrap(config, kafka);
  const schemaId = await registry.getLatestSchemaId(subject);
  const publisher: Publisher = createPublisher(kafka, config.api.publishTimeoutMs);
  const clickhouse = createClickHouse(config.clickhouse);
  const app = createApp(
    { topic: config.kafka.eventsTopic, maxBodyBytes: config.api.maxBodyBytes },
    { serde: createEventSerde(registry, subject), publisher, clickhouse, logger, readinessChecks: {} },
  );
  return {
    app,
    topic: config.kafka.eventsTopic,
    registry,
    schemaId,
    async close() {
      await publisher.close();
      await clickhouse.close();
    },
  };
}
