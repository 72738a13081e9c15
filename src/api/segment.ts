/**
 * The Segment tracking API's routes, so the server libraries teams already
 * run (Segment's analytics-node, RudderStack's Node SDK) send to StreamTrack
 * unchanged: POST /v1/batch, and one message each at /v1/track,
 * /v1/identify, /v1/page, /v1/screen, /v1/group, /v1/alias.
 *
 * The write key comes as HTTP Basic (the key as user name, as those
 * libraries send it), a Bearer key or token, or `writeKey` in the body.
 * Bodies may be gzip (bounded: request-body.ts). Each message becomes an
 * event (ingestion/segment-message.ts), then takes /track's path
 * (ingest.ts): the key's project, validation against the event schema,
 * publication, a result per message.
 *
 * Status: 200 every message accepted (Segment's answer, with `success`);
 * 207 some refused; 400 none accepted. Limits are /track's: a message at
 * most API_MAX_EVENT_BYTES (32 KB), a body at most API_MAX_BODY_BYTES
 * (500 KB) once inflated, API_MAX_BATCH_EVENTS messages.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { BodyError } from '../ingestion/parse-body.js';
import { inMessageTerms, parseSegmentBatch, parseSegmentMessage, segmentEvent, type SegmentBody } from '../ingestion/segment-message.js';
import type { EventLimits } from '../ingestion/validate-event.js';
import { MESSAGE_TYPES, type MessageType } from '../model/event.js';
import type { SchemaCatalog } from '../serde/event-schemas.js';
import type { AccessControl } from './access.js';
import { publicCors } from './cors.js';
import type { JsonSchema } from './event-json-schema.js';
import { ACCESS_ERROR_RESPONSES, ApiError, ErrorBodySchema, errorResponse, unavailableResponse } from './errors.js';
import { TrackResponseSchema, confine, prepare, publishPrepared, resolveSchema, tally, type EventResult, type Prepared, type PublishDeps } from './ingest.js';
import { requestHeader } from './node-bindings.js';
import { checkContentEncoding, readDecodedBody } from './request-body.js';
import { REQUEST_ID_HEADER } from './request-context.js';
import type { TrackLimits } from './track.js';

/**
 * The body is JSON whatever it is labelled, among these: a browser sends it
 * as text/plain to spare a CORS preflight, RudderStack's Node SDK its gzip
 * JSON as application/x-www-form-urlencoded (axios's label for a Buffer).
 */
const MEDIA_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded'];
const SEGMENT_CORS = {
  methods: ['POST'],
  allowHeaders: ['Content-Type', 'Content-Encoding', 'Authorization', REQUEST_ID_HEADER],
  exposeHeaders: [REQUEST_ID_HEADER, 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
  maxAgeSeconds: 86_400,
};

export const SegmentResponseSchema = TrackResponseSchema.extend({
  success: z.boolean().openapi({ description: "Segment's field: true when at least one message was accepted" }),
}).openapi('SegmentResponse');

export type SegmentResponse = z.infer<typeof SegmentResponseSchema>;

export interface SegmentDeps extends PublishDeps {
  access: AccessControl;
  catalog: SchemaCatalog;
  limits: TrackLimits;
  now?: () => number;
}

/** The message's fields, documented; the route's own type is implied on the single-message routes. */
const MESSAGE_SCHEMA: JsonSchema = {
  type: 'object',
  description:
    'A Segment-spec message. `userId` or `anonymousId` is required (alias: `userId` and `previousId`); `event` for track, `groupId` for group. Fields not listed are ignored.',
  properties: {
    type: { type: 'string', enum: [...MESSAGE_TYPES], description: 'Required in a batch; the route decides on the others' },
    messageId: { type: 'string', description: 'Becomes `event_id`: as is when a UUID, else a v5 UUID of the project and the id (kept as `message_id`), so a resend is stored once' },
    userId: { type: 'string' },
    anonymousId: { type: 'string' },
    previousId: { type: 'string', description: 'alias: the id linked to `userId`' },
    event: { type: 'string', description: 'track: the action' },
    name: { type: 'string', description: 'page, screen' },
    groupId: { type: 'string', description: 'group: stored as `properties.group_id`' },
    properties: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
    traits: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
    context: {
      type: 'object',
      description: 'Read: `ip`, `userAgent`, `locale`, `library` {name, version}, `page.url`; the rest is ignored',
    },
    timestamp: { type: 'string', format: 'date-time', description: 'Event time (else `originalTimestamp`, else the receive time), corrected for `sentAt`' },
    originalTimestamp: { type: 'string', format: 'date-time' },
    sentAt: { type: 'string', format: 'date-time' },
    integrations: { type: 'object', description: 'Ignored' },
  },
};
const messageRef = { $ref: '#/components/schemas/SegmentMessage' };

type Route = 'batch' | MessageType;

function segmentRoute(route: Route, limits: TrackLimits) {
  const batch = route === 'batch';
  const body: JsonSchema = batch
    ? {
        type: 'object',
        properties: {
          batch: { type: 'array', items: messageRef, minItems: 1, maxItems: limits.body.maxBatchEvents },
          sentAt: { type: 'string', format: 'date-time', description: 'Applies to the messages without their own' },
          writeKey: { type: 'string', description: 'The write key, when no Authorization header carries it' },
        },
        required: ['batch'],
      }
    : messageRef;
  return createRoute({
    method: 'post',
    path: `/${route}`,
    summary: batch ? 'Segment-spec batch of messages' : `Segment-spec ${route} message`,
    description: [
      'Segment and RudderStack libraries send here unchanged: the write key as HTTP Basic user name (or Bearer, or `writeKey` in the body), gzip bodies allowed.',
      "Each message is checked against the event schema and published as /track's events; the answer has each message's result in order.",
      `A message is at most ${limits.body.maxEventBytes} bytes, a body at most ${limits.maxBodyBytes} once inflated${batch ? `, a batch at most ${limits.body.maxBatchEvents} messages` : ''}.`,
    ].join(' '),
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: body },
          'text/plain': { schema: { type: 'string', description: 'The same JSON (as a browser sends it, sparing a CORS preflight)' } },
          'application/x-www-form-urlencoded': { schema: { type: 'string', description: "The same JSON, as RudderStack's Node SDK labels it" } },
        },
      },
    },
    responses: {
      200: { description: 'Every message accepted', content: { 'application/json': { schema: SegmentResponseSchema } } },
      207: { description: 'Some messages refused: each result says which and why (fields named as in the message)', content: { 'application/json': { schema: SegmentResponseSchema } } },
      400: {
        description:
          'No message accepted (the results, `success: false`), or the body as a whole is wrong: `invalid_json`, `invalid_encoding`, `invalid_gzip`, `invalid_batch`, `empty_batch`, `invalid_write_key`. Per message, `unknown_type` and `missing` among the codes.',
        content: { 'application/json': { schema: z.union([SegmentResponseSchema, ErrorBodySchema]) } },
      },
      413: errorResponse('`payload_too_large` (also a gzip body that inflates beyond the limit), `event_too_large` (a single message; in a batch such a message is refused alone), `too_many_events`'),
      ...ACCESS_ERROR_RESPONSES,
      415: errorResponse('`unsupported_media_type`, `unsupported_content_encoding` (gzip or identity only)'),
      503: unavailableResponse('`kafka_unavailable`, or `schema_registry_unavailable` when the schema is not cached'),
    },
  });
}

function answer(c: Context, results: EventResult[], single: boolean) {
  const { accepted, refused, passed, error } = tally(results, single, 'message');
  const body: SegmentResponse = { success: accepted > 0, accepted, refused, results };
  if (passed === 'all') return c.json(body, 200);
  if (passed === 'some') return c.json(body, 207);
  return c.json({ ...body, error }, 400);
}

export function createSegmentRoutes(deps: SegmentDeps) {
  const now = deps.now ?? Date.now;
  const { limits } = deps;
  const eventLimits: EventLimits = limits.event;
  const routes = new OpenAPIHono();
  routes.openAPIRegistry.registerComponent('schemas', 'SegmentMessage', MESSAGE_SCHEMA);
  routes.use('*', publicCors(SEGMENT_CORS));

  async function ingest(c: Context, route: Route) {
    const contentType = (requestHeader(c, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!MEDIA_TYPES.includes(contentType)) throw new ApiError(415, 'unsupported_media_type', `content type must be one of ${MEDIA_TYPES.join(', ')} (a JSON body), got "${contentType}"`);
    checkContentEncoding(c);
    // Header credentials are checked before the body is read or inflated: a bad key costs no body.
    const fromHeader = await deps.access.fromHeader(c);
    const bytes = await readDecodedBody(c, limits.maxBodyBytes);
    const receivedAt = now();
    let body: SegmentBody;
    try {
      body = route === 'batch' ? parseSegmentBatch(bytes, limits.body) : parseSegmentMessage(bytes, route, limits.body);
    } catch (error) {
      if (error instanceof BodyError) throw new ApiError(error.status, error.code, error.message);
      throw error;
    }
    const principal = await deps.access.forEvents(c, fromHeader, body.writeKey, body.items.length);
    const projectId = principal.projectId ?? 'default';
    const schema = await resolveSchema(deps.catalog, undefined);
    const prepared = body.items.map((item): Prepared => {
      if ('errors' in item) return { ok: false, errors: item.errors };
      const mapped = segmentEvent(item.value, projectId, body.sentAt);
      if (!mapped.ok) return mapped;
      confine(mapped.event, principal);
      const outcome = prepare(mapped.event, schema, receivedAt, eventLimits);
      return outcome.ok ? outcome : { ok: false, errors: inMessageTerms(outcome.errors, mapped.event.type) };
    });
    return answer(c, await publishPrepared(deps, prepared), body.single);
  }

  for (const route of ['batch', ...MESSAGE_TYPES] as const) routes.openapi(segmentRoute(route, limits), (c) => ingest(c, route));
  return routes;
}
