/** GET /metrics in Prometheus' text format, for the API and the worker alike. */
import { Hono } from 'hono';
import type { Registry } from 'prom-client';

export function createMetricsRoutes(registry: Registry) {
  return new Hono().get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType }));
}
