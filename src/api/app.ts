/**
 * The HTTP API: one sub-app per resource, mounted here, with one error
 * handler and the OpenAPI document of them all. Built from injected services
 * so tests run it in process with `app.request(...)`.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ClickHouseClient } from '@clickhouse/client';
import type { BlankEnv } from 'hono/types';
import type { Config } from '../config.js';
import { DEFAULT_EVENT_LIMITS } from '../ingestion/validate-event.js';
import type { Logger } from '../logger.js';
import type { Publisher } from '../kafka/publisher.js';
import { createMetricsRoutes } from '../observability/metrics-route.js';
import type { ApiMetrics } from '../observability/metrics.js';
import type { SchemaCatalog } from '../serde/event-schemas.js';
import { createActivitiesRoutes } from './activities.js';
import { ApiError, createErrorHandler } from './errors.js';
import { createHealthRoutes, type ReadinessChecks } from '../http/health.js';
import { serveOpenApi } from './openapi.js';
import { requestContext } from './request-context.js';
import { createStatsRoutes } from './stats.js';
import { createTrackRoutes, type TrackDeps, type TrackLimits } from './track.js';

export interface ApiDeps {
  catalog: SchemaCatalog;
  publisher: Publisher;
  clickhouse: ClickHouseClient;
  readiness: ReadinessChecks;
  logger: Logger;
  metrics: ApiMetrics;
  /** /track's hook for the write key a JSON body carries: authentication's (track.ts). */
  authorize?: NonNullable<TrackDeps['authorize']>;
  now?: () => number;
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
  const app = root
    .route('/track', createTrackRoutes({ ...deps, topic: config.kafka.eventsTopic, limits: trackLimits(config.api) }))
    .route('/activities', createActivitiesRoutes(deps.clickhouse))
    .route('/stats', createStatsRoutes(deps.clickhouse, config.topology.graceMs))
    .route('/', createHealthRoutes(deps.readiness))
    .route('/', createMetricsRoutes(deps.metrics.registry));
  serveOpenApi(app);
  const onError = createErrorHandler(deps.logger);
  // Answered, not thrown: a thrown not-found skips the request middleware (metrics, log).
  app.notFound((c) => onError(new ApiError(404, 'not_found', 'no such route'), c));
  app.onError(onError);
  return app;
}

export type AppType = ReturnType<typeof createApp>;
