/**
 * The API's OpenAPI 3.1 document, generated on request from the route
 * definitions the routes validate with (each sub-app's `createRoute`), at
 * GET /openapi.json, and an interactive page over it at GET /docs.
 *
 * /healthz and /readyz are shared with the worker (src/http) and plain Hono
 * routes: their answers are documented here. /metrics and the detailed
 * /readyz are on the operations port (API_OPS_PORT), not part of this API.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { HealthSchema, PublicReadinessSchema } from '../http/health.js';
import { createDocsRoutes } from './static-assets.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

function documentOperationalRoutes(app: OpenAPIHono) {
  const readiness = { 'application/json': { schema: PublicReadinessSchema } };
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process is up',
    security: [],
    responses: { 200: { description: 'Up', content: { 'application/json': { schema: HealthSchema } } } },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: "Readiness: Kafka and the Schema Registry answer (2 s each; checked at most once a second); each check's result is on the operations port",
    security: [],
    responses: {
      200: { description: 'Ready', content: readiness },
      503: { description: 'A required dependency does not answer', content: readiness },
    },
  });
}

/** Where a key or token goes (src/api/access.ts); POST /track also takes a `write_key` in the body. */
function documentCredentials(app: OpenAPIHono) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`st_wk_…` write key, `st_sk_…` secret key) or a JWT (HS256 with the project secret, or RS256/ES256 from its JWKS)',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'basic', {
    type: 'http',
    scheme: 'basic',
    description: "An API key as the user name, the password empty (what Segment's and RudderStack's libraries send)",
  });
}

export function serveOpenApi(app: OpenAPIHono) {
  documentOperationalRoutes(app);
  documentCredentials(app);
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    // Every route but the health checks; in open mode (STREAMTRACK_AUTH=open) none is needed.
    security: [{ bearer: [] }, { basic: [] }],
    // The version of the HTTP contract, not of the package.
    info: {
      title: 'StreamTrack API',
      version: '1',
      description: 'Events in (POST /track, to Kafka), raw events and aggregates out (ClickHouse). Errors have one shape: `Error`.',
    },
  });
  // Swagger UI's script and styles from the swagger-ui-dist package, served here: the page works without internet.
  app.route(DOCS_PATH, createDocsRoutes(OPENAPI_PATH, 'StreamTrack API'));
}
