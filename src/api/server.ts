/**
 * The API process: wires the real Kafka, Schema Registry and ClickHouse into
 * the app and serves it, and the operations endpoints on their own port. It
 * creates no tables or topics (`init` does, with rights the API's users
 * lack); on start it runs the startup steps (schema registration, when
 * configured); one failing is logged and left to /readyz, so the API still
 * starts (and answers 503) while a dependency is down.
 */
import type { Kafka } from 'kafkajs';
import type { EventDecoder } from '../serde/event-decoder.js';
import type { Config } from '../config.js';
import { startupSteps } from '../bootstrap.js';
import { createKafka, describeCluster } from '../kafka/client.js';
import { DEFAULT_PUBLISHER_SETTINGS, createPublisher } from '../kafka/publisher.js';
import { createReadinessProbe } from '../http/health.js';
import { OPS_SERVER_LIMITS, listen, type Listening } from '../http/listen.js';
import type { Logger } from '../logger.js';
import { createApiMetrics } from '../observability/metrics.js';
import { createRegistry, createSchemaCatalog, readerType, valueSubject } from '../serde/event-schemas.js';
import { createEventDecoder } from '../serde/event-decoder.js';
import { createTopicOffsets } from '../kafka/topic-offsets.js';
import { createLiveEvents } from '../live/live-events.js';
import { createReadClickHouse, type ClickHouseClient } from '../storage/clickhouse.js';
import { createAuthenticator } from '../auth/authenticator.js';
import { createKeyCache } from '../auth/key-cache.js';
import { createKeyStore } from '../auth/key-store.js';
import { createRateLimiter } from '../auth/rate-limit.js';
import { createAccessControl } from './access.js';
import { createConcurrencyLimit } from './concurrency-limit.js';
import { createApp, createOpsApp, type ApiDeps } from './app.js';

export interface ApiServices {
  kafka: Kafka;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** The services the app runs on, connected to what the config names. */
export function createApiServices(config: Config, logger: Logger): ApiServices {
  const kafka = createKafka(config.kafka, logger);
  const registry = createRegistry(config.schemaRegistry.url);
  const clickhouse = createReadClickHouse(config.clickhouse);
  const metrics = createApiMetrics();
  const keys = config.auth.mode === 'keys' ? accessWithKeys(config, clickhouse, logger) : undefined;
  if (!keys) logger.warn('STREAMTRACK_AUTH=open: anyone who reaches this API can write to and read every project; never run it so on a network');
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
  const catalog = createSchemaCatalog(registry, valueSubject(config.kafka.eventsTopic), config.schemaRegistry.refreshMs);
  let decoder: Promise<EventDecoder> | undefined;
  const live = createLiveEvents(config.kafka, config.api.live, {
    kafka,
    // As the worker decodes: by the id each record carries, to the newest reader schema.
    decoder: () => (decoder ??= readerType().then((reader) => createEventDecoder(catalog, reader))),
    logger,
    observe: { streams: (open) => metrics.liveStreams.set(open), dropped: (count) => metrics.liveEventsDropped.inc(count) },
  });
  const offsets = createTopicOffsets(kafka);
  return {
    kafka,
    deps: {
      live,
      offsets,
      schemaRegistryUrl: config.schemaRegistry.url,
      access: keys?.access ?? createAccessControl({ mode: 'open' }),
      ...(keys ? { keys: { store: keys.store, cache: keys.cache } } : {}),
      catalog,
      publisher,
      clickhouse,
      logger,
      metrics,
      readiness: createReadinessProbe({
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
      }),
    },
    async close() {
      keys?.cache.close();
      await live.close();
      await offsets.close();
      await publisher.close();
      await clickhouse.close();
    },
  };
}

/** Keys mode: the key store, the cache every request checks, the authenticator and the limiter behind access control. */
function accessWithKeys(config: Config, clickhouse: ClickHouseClient, logger: Logger) {
  const store = createKeyStore(clickhouse);
  const cache = createKeyCache(store, { refreshMs: config.auth.refreshMs, logger });
  const authenticator = createAuthenticator(cache, config.auth);
  const access = createAccessControl({ mode: 'keys', authenticator, limiter: createRateLimiter(), queriesPerKey: createConcurrencyLimit(config.auth.queriesPerKey) });
  return { store, cache, access };
}

export interface RunningApi {
  http: Listening;
  /** /healthz, the detailed /readyz and /metrics, on API_OPS_PORT. */
  ops: Listening;
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
  const ops = await listen(createOpsApp(services.deps), config.api.opsHost, config.api.opsPort, OPS_SERVER_LIMITS);
  const http = await listen(app, config.api.host, config.api.port, config.api.server);
  // The bound ports, for API_OPS_PORT=0 (any free one) as in the tests.
  logger.info({ host: config.api.host, port: http.port, ops: `${config.api.opsHost}:${ops.port}` }, 'API listening');

  return {
    http,
    ops,
    async close() {
      // Live streams never end on their own: ended first, so the server's close does not wait on them.
      await services.deps.live.close();
      await http.close();
      await ops.close();
      await services.close();
    },
  };
}
