/**
 * The API's OpenAPI 3.1 document, generated on request from the route
 * definitions the routes validate with (each sub-app's `createRoute`), at
 * GET /openapi.json, and an interactive page over it at GET /docs.
 *
 * /healthz, /readyz and /metrics are shared with the worker (src/http,
 * src/observability) and plain Hono routes: their answers are documented here.
 */
import { swaggerUI } from '@hono/swagger-ui';
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { HealthSchema, ReadinessSchema } from '../http/health.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

function documentOperationalRoutes(app: OpenAPIHono) {
  const readiness = { 'application/json': { schema: ReadinessSchema } };
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process is up',
    responses: { 200: { description: 'Up', content: { 'application/json': { schema: HealthSchema } } } },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: Kafka and the Schema Registry answer (2 s each); ClickHouse is reported, not required',
    responses: {
      200: { description: 'Ready', content: readiness },
      503: { description: 'A required dependency does not answer', content: readiness },
    },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/metrics',
    summary: "Prometheus metrics in Prometheus' text format",
    responses: { 200: { description: 'The metrics', content: { 'text/plain': { schema: z.string() } } } },
  });
}

export function serveOpenApi(app: OpenAPIHono) {
  documentOperationalRoutes(app);
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    // The version of the HTTP contract, not of the package.
    info: {
      title: 'StreamTrack API',
      version: '1',
      description: 'Events in (POST /track, to Kafka), raw events and aggregates out (ClickHouse). Errors have one shape: `Error`.',
    },
  });
  // Swagger UI's page loads its JS and CSS from a CDN (jsDelivr) in the reader's browser; the server fetches nothing.
  app.get(DOCS_PATH, swaggerUI({ url: OPENAPI_PATH, title: 'StreamTrack API' }));
}
