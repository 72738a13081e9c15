/**
 * The API's OpenAPI 3.1 document, generated on request from the route
 * definitions the routes validate with (each sub-app's `createRoute`), at
 * GET /openapi.json, and an interactive page over it at GET /docs.
 *
 * /healthz and /readyz are shared with the worker (src/http) and plain Hono
 * routes: their answers are documented here. /metrics and the detailed
 * /readyz are on the operations port (API_OPS_PORT), not part of this API.
 */
import { swaggerUI } from '@hono/swagger-ui';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { HealthSchema, PublicReadinessSchema } from '../http/health.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

function documentOperationalRoutes(app: OpenAPIHono) {
  const readiness = { 'application/json': { schema: PublicReadinessSchema } };
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process is up',
    responses: { 200: { description: 'Up', content: { 'application/json': { schema: HealthSchema } } } },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: "Readiness: Kafka and the Schema Registry answer (2 s each; checked at most once a second); each check's result is on the operations port",
    responses: {
      200: { description: 'Ready', content: readiness },
      503: { description: 'A required dependency does not answer', content: readiness },
    },
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
