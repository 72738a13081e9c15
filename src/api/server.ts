/**
 * The API process: wires the real Kafka, Schema Registry and ClickHouse into
 * the app and serves it. It creates no tables or topics (`init` does, with
 * rights the API's users lack); on start it runs the startup steps (schema
 * registration, when configured); one failing is logged and left to /readyz,
 * so the API still starts (and answers 503) while a dependency is down.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import { startupSteps } from '../bootstrap.js';
import { createKafka, describeCluster } from '../kafka/client.js';
import { DEFAULT_PUBLISHER_SETTINGS, createPublisher } from '../kafka/publisher.js';
import { listen, type Listening } from '../http/listen.js';
import type { Logger } from '../logger.js';
import { createApiMetrics } from '../observability/metrics.js';
import { createRegistry, createSchemaCatalog, valueSubject } from '../serde/event-schemas.js';
import { createClickHouse } from '../storage/clickhouse.js';
import { createApp, type ApiDeps } from './app.js';

export interface ApiServices {
  kafka: Kafka;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** The services the app runs on, connected to what the config names. */
export function createApiServices(config: Config, logger: Logger): ApiServices {
  const kafka = createKafka(config.kafka, logger);
  const registry = createRegistry(config.schemaRegistry.url);
  const clickhouse = createClickHouse(config.clickhouse);
  const metrics = createApiMetrics();
  const publisher = createPublisher(
    kafka,
    { ...DEFAULT_PUBLISHER_SETTINGS, timeoutMs: config.api.publishTimeoutMs, lingerMs: config.kafka.lingerMs },
    {
      acknowledged(records, seconds) {
        metrics.produceBatch.observe(records);
        metrics.produceDuration.observe(seconds);
      },
      failed: () => metrics.produceFailures.inc(),
    },
  );
  return {
    kafka,
    deps: {
      catalog: createSchemaCatalog(registry, valueSubject(config.kafka.eventsTopic), config.schemaRegistry.refreshMs),
      publisher,
      clickhouse,
      logger,
      metrics,
      readiness: {
        required: {
          kafka: () => describeCluster(kafka),
          schema_registry: async () => {
            const response = await fetch(new URL('/subjects', config.schemaRegistry.url));
            if (!response.ok) throw new Error(`HTTP ${response.status}`);
          },
        },
        // Only /activities and /stats need it: reported, never a reason to stop ingesting.
        informational: {
          clickhouse: async () => {
            const ping = await clickhouse.ping();
            if (!ping.success) throw ping.error;
          },
        },
      },
    },
    async close() {
      await publisher.close();
      await clickhouse.close();
    },
  };
}

export interface RunningApi {
  http: Listening;
  close(): Promise<void>;
}

export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  const services = createApiServices(config, logger);
  for (const [step, run] of Object.entries(startupSteps(config, services.kafka))) {
    try {
      await run();
    } catch (err) {
      logger.warn({ err, step }, 'startup step failed; the API starts anyway and /readyz reports the dependency');
    }
  }
  const app = createApp(config, services.deps);
  const http = await listen(app, config.api.host, config.api.port);
  logger.info({ host: config.api.host, port: http.port }, 'API listening');

  return {
    http,
    async close() {
      await http.close();
      await services.close();
    },
  };
}
