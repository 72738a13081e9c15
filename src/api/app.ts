/**
 * The HTTP API: one sub-app per resource, mounted here, with one error
 * handler. Built from injected services so tests run it in process with
 * `app.request(...)`.
 */
import { Hono } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../logger.js';
import type { Publisher } from '../kafka/publisher.js';
import type { EventSerde } from '../serde/event-serde.js';
import { createActivitiesRoutes } from './activities.js';
import { ApiError, createErrorHandler } from './errors.js';
import { createHealthRoutes, type DependencyCheck } from './health.js';
import { createTrackRoutes } from './track.js';

export interface ApiSettings {
  topic: string;
  maxBodyBytes: number;
}

export interface ApiDeps {
  serde: EventSerde;
  publisher: Publisher;
  clickhouse: ClickHouseClient;
  readinessChecks: Record<string, DependencyCheck>;
  logger: Logger;
  now?: () => number;
}

export function createApp(settings: ApiSettings, deps: ApiDeps) {
  const app = new Hono()
    .route('/track', createTrackRoutes({ ...settings, ...deps }))
    .route('/activities', createActivitiesRoutes(deps.clickhouse))
    .route('/', createHealthRoutes(deps.readinessChecks));
  app.notFound(() => {
    throw new ApiError(404, 'not_found', 'no such route');
  });
  app.onError(createErrorHandler(deps.logger));
  return app;
}

export type AppType = ReturnType<typeof createApp>;
