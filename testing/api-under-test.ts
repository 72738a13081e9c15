/** The API app in process, wired to the real services with an isolated config. */
import type { Config } from '../src/config.js';
import { createApp } from '../src/api/app.js';
import { bootstrap } from '../src/bootstrap.js';
import { createKafka } from '../src/kafka/client.js';
import { DEFAULT_PUBLISHER_SETTINGS, createPublisher } from '../src/kafka/publisher.js';
import { createLogger } from '../src/logger.js';
import { createRegistry, createSchemaCatalog, valueSubject } from '../src/serde/event-schemas.js';
import { createClickHouse } from '../src/storage/clickhouse.js';

export type InProcessApi = Awaited<ReturnType<typeof inProcessApi>>;

/** `prepare: false` skips the bootstrap (migrations, topics, schemas) for a test that did its own. */
export async function inProcessApi(config: Config, { prepare = true } = {}) {
  const logger = createLogger('silent', 'test-api');
  const kafka = createKafka(config.kafka, logger);
  const registry = createRegistry(config.schemaRegistry.url);
  const subject = valueSubject(config.kafka.eventsTopic);
  if (prepare) await bootstrap(config, kafka);
  const publisher = createPublisher(kafka, { ...DEFAULT_PUBLISHER_SETTINGS, timeoutMs: config.api.publishTimeoutMs });
  const clickhouse = createClickHouse(config.clickhouse);
  const catalog = createSchemaCatalog(registry, subject, config.schemaRegistry.refreshMs);
  const app = createApp(config, { catalog, publisher, clickhouse, logger, readinessChecks: {} });
  return {
    app,
    topic: config.kafka.eventsTopic,
    subject,
    registry,
    catalog,
    async close() {
      await publisher.close();
      await clickhouse.close();
    },
  };
}
