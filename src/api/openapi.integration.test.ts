/**
 * The OpenAPI document against the app it describes, with the real Kafka,
 * Schema Registry and ClickHouse: every route is documented and every
 * documented path is a route; real answers, errors included, validate
 * against the JSON Schema documented for their status and content type; the
 * document is valid OpenAPI 3.1 and its $refs resolve.
 */
import { validate as validateOpenApi, compileErrors } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { DOCS_PATH, OPENAPI_PATH } from './openapi.js';
import { CONTENT_TYPES } from './track.js';

interface MediaType {
  schema: object;
}
interface Operation {
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

const RANGE = 'from=2026-01-01T00:00:00Z&to=2026-01-01T06:00:00Z';
let api: InProcessApi;
let doc: OpenApiDocument;
// Not strict: the document holds OpenAPI's own keywords (`example`, its sections) beside JSON Schema's.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

beforeAll(async () => {
  api = await inProcessApi(isolatedConfig(inject('services')));
  const response = await api.app.request(OPENAPI_PATH);
  expect(response.status).toBe(200);
  doc = (await response.json()) as OpenApiDocument;
  ajv.addSchema(doc, OPENAPI_PATH);
});
afterAll(async () => api?.close());

/** The documented schema at a JSON pointer into the document, compiled (its $refs resolved within the document). */
function schemaAt(...path: string[]) {
  const pointer = path.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
  return ajv.compile({ $ref: `${OPENAPI_PATH}#/${pointer}` });
}

/** The OpenAPI path of a request path: `/stats/users/u/sessions` -> `/stats/users/{user_id}/sessions`. */
function documentedPath(path: string): string {
  const pattern = (template: string) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
  const found = Object.keys(doc.paths).find((template) => pattern(template).test(path));
  if (!found) throw new Error(`${path} is not documented`);
  return found;
}

describe('the document', () => {
  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // The parser dereferences what it validates, in place.
    const result = await validateOpenApi(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('resolves every $ref of every schema', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const type of Object.keys(response.content ?? {})) {
            expect(() => schemaAt('paths', path, method, 'responses', status, 'content', type, 'schema')).not.toThrow();
          }
        }
        for (const type of Object.keys(operation.requestBody?.content ?? {})) {
          expect(() => schemaAt('paths', path, method, 'requestBody', 'content', type, 'schema')).not.toThrow();
        }
      }
    }
  });

  it('documents every route of the app, and only those', () => {
    const served = api.app.routes
      // The browser pages (the docs page, the web UI) and their assets are not the clients' API.
      .filter((route) => route.method !== 'ALL' && route.path !== OPENAPI_PATH && !/^\/(docs|ui)(\/|$)/.test(route.path))
      .map((route) => `${route.method} ${route.path}`);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
    // Operations endpoints are on their own port, not in the clients' API.
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
  });

  it('is shown by the docs page, whose every asset the API serves itself', async () => {
    const response = await api.app.request(DOCS_PATH);
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...page.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/assets/init.js']));
    for (const asset of assets) expect((await api.app.request(asset)).status, asset).toBe(200);
    expect(await (await api.app.request('/docs/assets/init.js')).text()).toContain(OPENAPI_PATH);
    expect((await api.app.request('/docs/assets/..%2Fpackage.json')).status).toBe(404);
  });
});

interface Case {
  name: string;
  path: string;
  status: number;
  body?: string;
  type?: string;
}

const track = (name: string, body: string, status: number, type: string = CONTENT_TYPES.json): Case => ({ name, path: '/track', body, type, status });

const segment = (name: string, path: string, body: string, status: number, type = 'application/json'): Case => ({ name, path, body, type, status });
const message = { type: 'track', userId: 'doc_s', event: 'Signed Up', messageId: 'node-next-1-doc', properties: { plan: 'pro' } };

const cases: Case[] = [
  { name: 'a page of events', path: '/activities?limit=5', status: 200 },
  { name: 'the pipeline', path: '/pipeline', status: 200 },
  { name: 'a parameter the pipeline does not take', path: '/pipeline?x=1', status: 400 },
  { name: 'a live stream with an unknown parameter', path: '/live/events?user=ann', status: 400 },
  { name: 'a read-your-write wait', path: '/activities?wait_for=0b8f6a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b&wait_ms=0', status: 200 },
  { name: 'a bad limit', path: '/activities?limit=0', status: 400 },
  { name: 'an unknown parameter', path: '/activities?user=ann', status: 400 },
  { name: 'a repeated single-valued parameter', path: '/activities?order=asc&order=desc', status: 400 },
  { name: 'a scan over 31 days without a user', path: '/activities?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z', status: 400 },
  { name: "a user's series", path: `/stats/users/u?${RANGE}&granularity=1m&split=action`, status: 200 },
  { name: "a user's sessions", path: `/stats/users/u/sessions?${RANGE}`, status: 200 },
  { name: 'the overview', path: `/stats/overview?${RANGE}&top=5`, status: 200 },
  { name: 'a missing range', path: '/stats/users/u', status: 400 },
  { name: 'a range too long', path: '/stats/overview?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z', status: 400 },
  { name: 'a trend by action', path: `/insights/trends?${RANGE}&measure=uniques&breakdown=action&top=3`, status: 200 },
  { name: 'a p90 trend with a filter', path: `/insights/trends?${RANGE}&measure=p90&property=amount&where=plan:pro`, status: 200 },
  { name: 'a trend of an unknown measure', path: `/insights/trends?${RANGE}&measure=median`, status: 400 },
  { name: 'a funnel with a breakdown', path: `/insights/funnels?${RANGE}&step=view&step=buy|plan:pro&window=3600&breakdown=property:plan`, status: 200 },
  { name: 'a funnel of one step', path: `/insights/funnels?${RANGE}&step=view`, status: 400 },
  { name: 'a retention', path: `/insights/retention?${RANGE}&first=signup&return=view&period=day`, status: 200 },
  { name: 'a sessions overview', path: `/insights/sessions?${RANGE}&granularity=1h`, status: 200 },
  { name: 'the properties seen', path: '/insights/properties?action=view', status: 200 },
  { name: 'liveness', path: '/healthz', status: 200 },
  { name: 'readiness', path: '/readyz', status: 200 },
  track('one event', JSON.stringify({ user_id: 'doc_1', action: 'a', properties: { plan: 'pro', seats: 3 } }), 202),
  track('a Segment batch', JSON.stringify({ batch: [{ user_id: 'doc_2', action: 'a', timestamp: 1_760_000_000_000 }], sent_at: '2026-01-01T00:00:01Z' }), 202),
  track('NDJSON', '{"user_id":"doc_3","action":"a"}\n{"user_id":"doc_4","action":"b"}\n', 202, CONTENT_TYPES.ndjson),
  track('a partial batch', JSON.stringify([{ user_id: 'doc_5', action: 'a' }, { user_id: 'doc_6', action: '' }]), 207),
  track('a refused event', JSON.stringify({ user_id: 'doc_7', plan: 'pro' }), 400),
  track('malformed JSON', '{"user_id": ', 400),
  track('a wire frame with a wrong magic byte', '\u0001\u0000\u0000\u0000\u0001', 400, CONTENT_TYPES.wire),
  track('too many events', JSON.stringify(Array.from({ length: 10_001 }, () => ({ user_id: 'u', action: 'a' }))), 413),
  track('an unsupported content type', 'user_id=u&action=a', 415, 'application/x-www-form-urlencoded'),
  segment('a Segment-spec batch', '/v1/batch', JSON.stringify({ batch: [message, { ...message, type: 'identify', traits: { plan: 'pro' } }], sentAt: '2026-01-01T00:00:01Z' }), 200),
  segment('a Segment-spec page as text/plain', '/v1/page', JSON.stringify({ anonymousId: 'doc_a', name: 'Home' }), 200, 'text/plain'),
  segment('a Segment-spec alias', '/v1/alias', JSON.stringify({ userId: 'doc_s', previousId: 'doc_a' }), 200),
  segment('a partial Segment-spec batch', '/v1/batch', JSON.stringify({ batch: [message, { type: 'purchase', userId: 'u' }] }), 207),
  segment('a refused Segment-spec message', '/v1/track', JSON.stringify({ userId: 'u' }), 400),
  segment('a Segment-spec body that is no batch', '/v1/batch', '[1]', 400),
  segment('a Segment-spec batch of too many', '/v1/batch', JSON.stringify({ batch: Array.from({ length: 10_001 }, () => 1) }), 413),
  segment('a Segment-spec body of another type', '/v1/screen', '<screen/>', 415, 'application/xml'),
  { name: 'a user never seen', path: '/users/nobody', status: 404 },
  { name: "a user's events with its linked ids", path: '/activities?user_id=u&include_linked=true', status: 200 },
  { name: 'include_linked without a user', path: '/activities?include_linked=true', status: 400 },
  { name: "a user's series with its linked ids", path: `/stats/users/u?${RANGE}&include_linked=true`, status: 200 },
  { name: "a user's sessions with its linked ids", path: `/stats/users/u/sessions?${RANGE}&include_linked=true`, status: 200 },
];

describe('every answer has its documented shape', () => {
  it.each(cases)('$name -> $status', async ({ path, status, body, type }) => {
    const method = body === undefined ? 'get' : 'post';
    const response = await api.app.request(path, body === undefined ? {} : { method: 'POST', body, headers: { 'content-type': type! } });
    const text = await response.text();
    expect(response.status, text).toBe(status);

    const documented = documentedPath(path.split('?')[0]!);
    const answers = doc.paths[documented]![method]!.responses[String(status)];
    expect(answers, `${status} is documented for ${method} ${documented}`).toBeDefined();
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!;
    expect(Object.keys(answers!.content ?? {}), 'the content type is documented').toContain(mediaType);
    const check = schemaAt('paths', documented, method, 'responses', String(status), 'content', mediaType, 'schema');
    const value: unknown = mediaType === 'application/json' ? JSON.parse(text) : text;
    expect(check(value), JSON.stringify(check.errors)).toBe(true);

    if ((status === 202 || (status === 200 && body !== undefined)) && type === CONTENT_TYPES.json) {
      // What the API accepted, the documented request body accepts too.
      const request = schemaAt('paths', documented, method, 'requestBody', 'content', type!, 'schema');
      expect(request(JSON.parse(body!)), JSON.stringify(request.errors)).toBe(true);
    }
  });

  it('an unknown route -> 404 in the documented error shape', async () => {
    const response = await api.app.request('/no/such/route');
    expect(response.status).toBe(404);
    const check = schemaAt('components', 'schemas', 'Error');
    expect(check(await response.json()), JSON.stringify(check.errors)).toBe(true);
  });
});
