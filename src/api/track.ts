/**
 * POST /track: check each event against its registered Avro schema, encode
 * it in the Confluent wire format and publish it to Kafka keyed by user_id.
 * Answers once Kafka acknowledged, with each event's result in order; never
 * touches the database.
 *
 * Status: 202 every event accepted; 207 some accepted, some refused; 400 none
 * accepted. The body is always `{accepted, refused, results}`.
 *
 * The route's definition documents it (OpenAPI) without validating: each
 * event is checked by the Avro-driven validator, which answers per event, and
 * the JSON event of the document is derived from the same Avro schema.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { publicCors } from './cors.js';
import { BodyError, parseJsonBody, parseNdjsonBody, type BodyItem, type BodyLimits } from '../ingestion/parse-body.js';
import type { EventLimits } from '../ingestion/validate-event.js';
import { SchemaUnavailableError, UnknownSchemaError, type EventSchema, type SchemaCatalog } from '../serde/event-schemas.js';
import { avroBoundsProblem, eventAvroBounds, type AvroBounds } from '../serde/bounded-avro.js';
import { WireFormatError, decodeFrame } from '../serde/wire-format.js';
import type { Principal } from '../auth/principal.js';
import type { AccessControl } from './access.js';
import { ACCESS_ERROR_RESPONSES, ApiError, ErrorBodySchema, errorResponse, unavailableResponse } from './errors.js';
import { TIME_SCHEMA, eventJsonSchema, newestEventSchema } from './event-json-schema.js';
import {
  SCHEMA_VERSION_HEADER,
  TrackResponseSchema,
  confine,
  prepare,
  publishPrepared,
  resolveSchema,
  tally,
  unavailable,
  type EventResult,
  type Prepared,
  type PublishDeps,
  type TrackResponse,
} from './ingest.js';
import { requestHeader } from './node-bindings.js';
import { readBody } from './request-body.js';
import { REQUEST_ID_HEADER } from './request-context.js';

export const CONTENT_TYPES = {
  json: 'application/json',
  /** JSON under the one type a page's navigator.sendBeacon can send without a preflight. */
  beacon: 'text/plain',
  ndjson: 'application/x-ndjson',
  /** One event already encoded by the client: magic byte 0, schema id, Avro body. */
  wire: 'application/vnd.streamtrack.avro',
} as const;
type BodyFormat = Exclude<keyof typeof CONTENT_TYPES, 'beacon'>;
const FORMAT_OF_MEDIA_TYPE = new Map<string, BodyFormat>([
  [CONTENT_TYPES.json, 'json'],
  [CONTENT_TYPES.beacon, 'json'],
  [CONTENT_TYPES.ndjson, 'ndjson'],
  [CONTENT_TYPES.wire, 'wire'],
]);
/** Pages on any origin may post events: write keys are public. */
const TRACK_CORS = {
  methods: ['POST'],
  allowHeaders: ['Content-Type', 'Authorization', 'X-Schema-Version', REQUEST_ID_HEADER],
  exposeHeaders: [REQUEST_ID_HEADER, 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
  maxAgeSeconds: 86_400,
};

export interface TrackLimits {
  maxBodyBytes: number;
  body: BodyLimits;
  event: EventLimits;
}

export interface TrackDeps extends PublishDeps {
  access: AccessControl;
  catalog: SchemaCatalog;
  limits: TrackLimits;
  now?: () => number;
}

const eventRef = { $ref: '#/components/schemas/TrackEvent' };
const WRITE_KEY_SCHEMA = {
  type: 'string',
  description: 'The write key, for clients that cannot set headers (navigator.sendBeacon); also allowed at the top level of a single event object',
} as const;

/** POST /track as documented: the JSON event from the Avro schema in schemas/; the body's rules are parse-body.ts's. */
function trackRoute(limits: TrackLimits) {
  const events = { type: 'array', items: eventRef, minItems: 1, maxItems: limits.body.maxBatchEvents } as const;
  return createRoute({
    method: 'post',
    path: '/',
    summary: 'Track one event or a batch',
    description: [
      'Each event is checked against its registered Avro schema (the latest, or the version in `X-Schema-Version`), published to Kafka keyed by `user_id`,',
      "and answered once Kafka acknowledged it, with every event's result in request order.",
      'Any origin may call it (CORS, no credentials; preflights cached a day); `text/plain` bodies are read as JSON, and a JSON object body may carry `write_key`, for `navigator.sendBeacon`.',
      `A body is at most ${limits.maxBodyBytes} bytes, an event at most ${limits.body.maxEventBytes}, a batch at most ${limits.body.maxBatchEvents} events.`,
    ].join(' '),
    parameters: [
      {
        name: SCHEMA_VERSION_HEADER,
        in: 'header',
        required: false,
        description: 'Pin a registered version of the event schema (JSON and NDJSON bodies); the latest when absent.',
        schema: { type: 'string', pattern: '^[1-9]\\d{0,8}$' },
      },
    ],
    request: {
      body: {
        required: true,
        // Plain JSON Schemas, not zod: the Avro-driven validator checks each event and answers per event.
        content: {
          [CONTENT_TYPES.json]: {
            schema: {
              oneOf: [
                eventRef,
                events,
                {
                  type: 'object',
                  description: "Segment's batch form: a batch `sent_at` applies to the events without one",
                  properties: { batch: events, sent_at: TIME_SCHEMA, write_key: WRITE_KEY_SCHEMA },
                  required: ['batch'],
                  additionalProperties: false,
                },
              ],
            },
            example: { user_id: 'u42', action: 'purchase', properties: { amount: 19.99 } },
          },
          [CONTENT_TYPES.beacon]: {
            schema: {
              type: 'string',
              description:
                'The JSON body (any of the forms of `application/json`) under the content type `navigator.sendBeacon` sends without a CORS preflight; any charset parameter, read as UTF-8',
            },
            example: '{"user_id":"u42","action":"page_hidden","write_key":"wk_..."}',
          },
          [CONTENT_TYPES.ndjson]: {
            schema: { type: 'string', description: 'One TrackEvent (JSON) per line; a line that is not JSON refuses that event only' },
            example: '{"user_id":"u42","action":"a"}\n{"user_id":"u43","action":"b"}\n',
          },
          [CONTENT_TYPES.wire]: {
            schema: {
              type: 'string',
              format: 'binary',
              description:
                'One event encoded by the client in the Confluent wire format: magic byte 0, 4-byte big-endian schema id (a registered version of the event subject), Avro body',
            },
          },
        },
      },
    },
    responses: {
      202: { description: 'Every event accepted', content: { [CONTENT_TYPES.json]: { schema: TrackResponseSchema } } },
      207: { description: 'Some events accepted, some refused: each result says which and why', content: { [CONTENT_TYPES.json]: { schema: TrackResponseSchema } } },
      400: {
        description: [
          'No event accepted: the results, with `error.code` `invalid_event` (one event) or `invalid_events` (a batch);',
          'or the body as a whole is wrong (the error shape): `invalid_json`, `invalid_encoding`, `empty_batch`, `invalid_batch`, `invalid_write_key` (not a string),',
          '`invalid_wire_format`, `unknown_schema` (not a version of the event subject), `invalid_avro` (including a body whose lengths or item counts claim more than',
          'its bytes, more items than an event may hold, or too deep a nesting), `invalid_schema_version`, `unknown_schema_version`.',
          'Per event, `invalid_characters` (a control character or lone surrogate in an id, the action or a property key) and `timestamp_too_old`',
          '(event time, corrected for `sent_at`, older than the configured horizon, 31 days by default) are among the refusal codes.',
        ].join(' '),
        content: { [CONTENT_TYPES.json]: { schema: z.union([TrackResponseSchema, ErrorBodySchema]) } },
      },
      413: errorResponse('`payload_too_large`, `event_too_large` (a single-event body; in a batch such an event is refused alone), `too_many_events`'),
      ...ACCESS_ERROR_RESPONSES,
      415: errorResponse('`unsupported_media_type`'),
      503: unavailableResponse('`kafka_unavailable`, or `schema_registry_unavailable` when the schema is not cached'),
    },
  });
}

/** A client-encoded event: framed, of a registered event schema, decodable with it. */
async function prepareWire(bytes: Uint8Array, catalog: SchemaCatalog, receivedAt: number, limits: EventLimits, bounds: AvroBounds, principal: Principal): Promise<Prepared> {
  let frame;
  try {
    frame = decodeFrame(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (error) {
    if (error instanceof WireFormatError) throw new ApiError(400, 'invalid_wire_format', error.message);
    throw error;
  }
  let schema: EventSchema;
  try {
    schema = await catalog.byId(frame.schemaId);
  } catch (error) {
    if (error instanceof SchemaUnavailableError) throw unavailable(error);
    if (error instanceof UnknownSchemaError) throw new ApiError(400, 'unknown_schema', error.message);
    throw error;
  }
  // Before avsc, which trusts the counts in the bytes: a tiny frame could claim 2^50 map entries.
  const problem = avroBoundsProblem(schema.type, frame.payload, bounds);
  if (problem !== undefined) throw new ApiError(400, 'invalid_avro', `body does not decode with schema id ${frame.schemaId}: ${problem}`);
  let decoded: Record<string, unknown>;
  try {
    decoded = schema.type.fromBuffer(frame.payload) as Record<string, unknown>;
  } catch (error) {
    throw new ApiError(400, 'invalid_avro', `body does not decode with schema id ${frame.schemaId}: ${(error as Error).message}`);
  }
  // The server's fields are the server's to set, whatever the client encoded.
  const { received_at: _received, warnings: _warnings, ...event } = decoded;
  confine(event, principal);
  return prepare(event, schema, receivedAt, limits);
}

function respond(c: Context, results: EventResult[], single: boolean) {
  const { accepted, refused, passed, error } = tally(results, single, 'event');
  const body: TrackResponse = { accepted, refused, results };
  if (passed === 'all') return c.json(body, 202);
  if (passed === 'some') return c.json(body, 207);
  return c.json({ ...body, error }, 400);
}

export function createTrackRoutes(deps: TrackDeps) {
  const now = deps.now ?? Date.now;
  const { limits } = deps;
  const avroBounds = eventAvroBounds(limits.event);
  const routes = new OpenAPIHono();
  routes.openAPIRegistry.registerComponent('schemas', 'TrackEvent', eventJsonSchema(newestEventSchema(), limits.event));
  routes.use('/', publicCors(TRACK_CORS));
  return routes.openapi(
    trackRoute(limits),
    async (c) => {
      const contentType = (requestHeader(c, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const format = FORMAT_OF_MEDIA_TYPE.get(contentType);
      if (!format) {
        throw new ApiError(415, 'unsupported_media_type', `content type must be one of ${Object.values(CONTENT_TYPES).join(', ')}, got "${contentType}"`);
      }
      // Header credentials are checked before the body is read: a bad key costs no body.
      const fromHeader = await deps.access.fromHeader(c);
      const bytes = await readBody(c, limits.maxBodyBytes);
      const receivedAt = now();

      let single: boolean;
      let prepared: Prepared[];
      if (format === 'wire') {
        if (bytes.length > limits.body.maxEventBytes) {
          throw new ApiError(413, 'event_too_large', `event is ${bytes.length} bytes, at most ${limits.body.maxEventBytes} allowed`);
        }
        single = true;
        const principal = await deps.access.forEvents(c, fromHeader, undefined, 1);
        prepared = [await prepareWire(bytes, deps.catalog, receivedAt, limits.event, avroBounds, principal)];
      } else {
        let items: BodyItem[];
        let writeKey: string | undefined;
        try {
          ({ single, items, writeKey } = format === 'json' ? parseJsonBody(bytes, limits.body) : parseNdjsonBody(bytes, limits.body));
        } catch (error) {
          if (error instanceof BodyError) throw new ApiError(error.status, error.code, error.message);
          throw error;
        }
        const principal = await deps.access.forEvents(c, fromHeader, writeKey, items.length);
        for (const item of items) if ('value' in item) confine(item.value, principal);
        const schema = await resolveSchema(deps.catalog, requestHeader(c, SCHEMA_VERSION_HEADER));
        prepared = items.map((item) => ('errors' in item ? { ok: false, errors: item.errors } : prepare(item.value, schema, receivedAt, limits.event)));
      }

      const results = await publishPrepared(deps, prepared);
      return respond(c, results, single);
    },
  );
}
