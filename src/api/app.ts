/**
 * The HTTP API: one sub-app per resource, mounted here, with one error
 * handler and the OpenAPI document of them all. Built from injected services
 * so tests run it in process with `app.request(...)`. Beside it, the
 * operations app (`createOpsApp`): /metrics and the detailed /readyz, served
 * on a port of their own that clients do not reach.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import type { BlankEnv } from 'hono/types';
import type { Config } from '../config.js';
import { DEFAULT_EVENT_LIMITS } from '../ingestion/validate-event.js';
import type { Logger } from '../logger.js';
import type { Publisher } from '../kafka/publisher.js';
import { createMetricsRoutes } from '../observability/metrics-route.js';
import type { ApiMetrics } from '../observability/metrics.js';
import { valueSubject, type SchemaCatalog } from '../serde/event-schemas.js';
import type { KeyCache } from '../auth/key-cache.js';
import type { KeyStore } from '../auth/key-store.js';
import type { AccessControl } from './access.js';
import { createActivitiesRoutes } from './activities.js';
import { createAdminRoutes } from './admin.js';
import { createConcurrencyLimit, type ConcurrencyLimit } from './concurrency-limit.js';
import { readPreflight } from './cors.js';
import { ApiError, createErrorHandler } from './errors.js';
import { createHealthRoutes, type ReadinessProbe } from '../http/health.js';
import { serveOpenApi } from './openapi.js';
import { requestContext } from './request-context.js';
import { createSegmentRoutes } from './segment.js';
import { createStatsRoutes } from './stats.js';
import { createInsightsRoutes } from './insights.js';
import { createTrackRoutes, type TrackLimits } from './track.js';
import { createUsersRoutes } from './users.js';
import type { LiveEvents } from '../live/live-events.js';
import type { TopicOffsets } from '../kafka/topic-offsets.js';
import { createLiveRoutes } from './live.js';
import { createPipelineRoutes } from './pipeline.js';
import { serveUi } from './static-assets.js';

export interface ApiDeps {
  access: AccessControl;
  /** With keys (not in open mode): the store and cache the /admin routes change. */
  keys?: { store: KeyStore; cache: KeyCache };
  catalog: SchemaCatalog;
  publisher: Publisher;
  /** Carries the read limits on every query (storage/read-limits.ts). */
  clickhouse: ClickHouseClient;
  readiness: ReadinessProbe;
  logger: Logger;
  metrics: ApiMetrics;
  now?: () => number;
  /** `wait_for` long-polls held at once; by default API_MAX_WAITS for the process. */
  waits?: ConcurrencyLimit;
  /** The tail of the events topic behind GET /live/events. */
  live: LiveEvents;
  /** The broker's offsets behind GET /pipeline. */
  offsets: TopicOffsets;
  /** Where GET /pipeline reads the schema versions. */
  schemaRegistryUrl: string;
  /** Where /ui is served from; by default dist/ui (static-assets.ts). */
  uiDir?: string;
}

export function trackLimits(api: Config['api']): TrackLimits {
  return {
    maxBodyBytes: api.maxBodyBytes,
    body: { maxEventBytes: api.maxEventBytes, maxBatchEvents: api.maxBatchEvents },
    event: { ...DEFAULT_EVENT_LIMITS, maxFutureMs: api.maxFutureMs, maxPastMs: api.maxPastMs },
  };
}

export function createApp(config: Pick<Config, 'api' | 'kafka' | 'topology'>, deps: ApiDeps) {
  const root = new OpenAPIHono<BlankEnv>();
  // Before any route, so it wraps them all (`.use` would not keep the OpenAPIHono type for the chain).
  root.use(requestContext(deps.metrics, deps.logger));
  for (const path of ['/activities', '/activities/*', '/stats/*', '/insights/*', '/users/*', '/admin/*', '/live/*', '/pipeline']) root.use(path, readPreflight);
  const app = root
    .route('/track', createTrackRoutes({ ...deps, topic: config.kafka.eventsTopic, limits: trackLimits(config.api) }))
    .route('/v1', createSegmentRoutes({ ...deps, topic: config.kafka.eventsTopic, limits: trackLimits(config.api) }))
    .route(
      '/activities',
      createActivitiesRoutes({
        clickhouse: deps.clickhouse,
        access: deps.access,
        waits: deps.waits ?? createConcurrencyLimit(config.api.maxWaits),
        waitsPerKey: createConcurrencyLimit(config.api.maxWaitsPerKey),
        maxScanRangeMs: config.api.maxScanRangeMs,
        maxFutureMs: config.api.maxFutureMs,
        ...(deps.now ? { now: deps.now } : {}),
      }),
    )
    .route('/stats', createStatsRoutes(deps.clickhouse, config.topology.graceMs, deps.access))
    .route('/users', createUsersRoutes(deps.clickhouse, deps.access))
    .route('/insights', createInsightsRoutes(deps.clickhouse, config.topology.graceMs, deps.access))
    .route('/admin', createAdminRoutes(deps.access, deps.keys))
    .route('/live', createLiveRoutes(deps.live, config.api.live, deps.access))
    .route(
      '/pipeline',
      createPipelineRoutes({
        clickhouse: deps.clickhouse,
        offsets: deps.offsets,
        access: deps.access,
        topic: config.kafka.eventsTopic,
        consumerGroup: config.kafka.consumerGroup,
        schemaRegistryUrl: deps.schemaRegistryUrl,
        subject: valueSubject(config.kafka.eventsTopic),
        ...(deps.now ? { now: deps.now } : {}),
      }),
    )
    // The status alone: the checks' error texts name hosts and internals.
    .route('/', createHealthRoutes(deps.readiness, { detail: false }));
  serveOpenApi(app);
  serveUi(app, deps.uiDir);
  const onError = createErrorHandler(deps.logger);
  // Answered, not thrown: a thrown not-found skips the request middleware (metrics, log).
  app.notFound((c) => onError(new ApiError(404, 'not_found', 'no such route'), c));
  app.onError(onError);
  return app;
}

export type AppType = ReturnType<typeof createApp>;

/** The API's operations endpoints: /healthz, /readyz with every check's result, /metrics. */
export function createOpsApp(deps: Pick<ApiDeps, 'readiness' | 'metrics'>) {
  return new Hono().route('/', createHealthRoutes(deps.readiness, { detail: true })).route('/', createMetricsRoutes(deps.metrics.registry));
}
