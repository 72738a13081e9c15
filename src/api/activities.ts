/**
 * GET /activities: raw events straight from ClickHouse, filtered, in event
 * time order, a page at a time with an opaque cursor that stays stable while
 * new events arrive (keyset on event time and id, never OFFSET).
 *
 * Read-your-write: `wait_for=<event_id>` (repeatable) holds the answer until
 * those events are stored, up to `wait_ms`, so a client sees what it just
 * sent as soon as the worker stored it. Such long-polls are capped per
 * process (429 `too_many_waits` beyond, at once) and stop polling when the
 * client goes away.
 *
 * A read without a user filter scans events by time alone, so its range is
 * bounded: the last 7 days by default, at most `maxScanRangeMs`. With one,
 * the primary key (project_id, user_id, timestamp) bounds the read.
 *
 * The route's definition (parameters, answers) validates requests and is the
 * OpenAPI document's; `properties.<name>` filters are read here, beside it,
 * because OpenAPI cannot name a family of parameters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Context } from 'hono';
import type { FieldError } from '../ingestion/validate-event.js';
import { MESSAGE_TYPES } from '../model/event.js';
import { idsOfProject, storedEventPositions } from '../storage/events-table.js';
import { queryActivities, type ActivityFilter } from '../storage/activity-query.js';
import { MAX_LINKED_IDS, withLinkedIds } from '../storage/identity-query.js';
import { OPEN_PRINCIPAL, type Principal } from '../auth/principal.js';
import { readLinked, readProject, readUsers, type AccessControl, type PrincipalVariables } from './access.js';
import { decodeCursor, encodeCursor } from './activities-cursor.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import { ACCESS_ERROR_RESPONSES, ApiError, CLICKHOUSE_ERROR_RESPONSES, errorResponse } from './errors.js';
import { outgoingOf } from './node-bindings.js';
import { expecting, flag, integer, invalidParameters, iso, many, oneOf, queryParameters, refuse, refuseInvalidParameters, time } from './params.js';

export const ACTIVITIES_LIMIT = { default: 100, max: 1_000 } as const;
const MAX_VALUES = 100;
const MAX_PROPERTY_FILTERS = 5;
/** Users whose linked ids one read may follow: each brings up to MAX_LINKED_IDS more ids into the query. */
const MAX_LINKED_USERS = 10;
const WAIT_MS = { default: 5_000, max: 10_000 } as const;
const WAIT_POLL_MS = 50;
const PROPERTY = /^properties\.([A-Za-z0-9_.$-]{1,128})$/;
const DAY_MS = 86_400_000;
/** The range of a read without a user filter when it names no `from`. */
export const DEFAULT_SCAN_MS = 7 * DAY_MS;

const PropertyValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const TimeSchema = z.string().datetime().openapi({ description: 'ISO-8601, UTC', example: '2026-03-01T00:00:00.000Z' });

export const StoredEventSchema = z
  .object({
    event_id: z.string().uuid(),
    project_id: z.string(),
    user_id: z.string(),
    action: z.string(),
    timestamp: TimeSchema.openapi({ description: "Event time, corrected for the client's clock skew (ISO-8601, UTC)" }),
    sent_at: TimeSchema.nullable(),
    received_at: TimeSchema,
    session_id: z.string().nullable(),
    properties: z.record(PropertyValueSchema),
    context: z
      .object({
        ip: z.string().nullable(),
        user_agent: z.string().nullable(),
        locale: z.string().nullable(),
        library: z.object({ name: z.string(), version: z.string() }).nullable(),
        page_url: z.string().nullable(),
      })
      .nullable(),
    warnings: z.array(z.string()).openapi({ description: 'What the API changed on the way in, e.g. `timestamp_in_future_clamped`' }),
    type: z.enum(MESSAGE_TYPES).openapi({ description: 'The kind of message; `track` for events sent to /track without one and for those stored before schema v3' }),
    anonymous_id: z.string().nullable(),
    traits: z.record(PropertyValueSchema).openapi({ description: "The user's (identify) or group's (group) attributes; {} for other messages" }),
    name: z.string().nullable().openapi({ description: "A page's or screen's name" }),
    message_id: z.string().nullable().openapi({ description: "The client's own message id as sent (Segment's messageId), when `event_id` was derived from it" }),
  })
  .openapi('StoredEvent', { description: 'An event as stored: every field, times in ISO-8601 UTC.' });

export const ActivitiesPageSchema = z
  .object({
    events: z.array(StoredEventSchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    waited: z
      .object({ satisfied: z.boolean(), waited_ms: z.number().int() })
      .optional()
      .openapi({ description: 'With `wait_for`: whether every awaited event was stored before the answer.' }),
  })
  .openapi('ActivitiesPage');

export type ActivitiesPage = z.infer<typeof ActivitiesPageSchema>;

const cursor = z.string().transform((raw, ctx) => {
  const decoded = decodeCursor(raw);
  if (!decoded) refuse(ctx, { expected: 'a next_cursor from a previous page', problem: 'cannot be read' }, { fatal: true });
  return decoded ?? z.NEVER;
});

const param = (description: string) => ({ param: { description } });

const ActivitiesQuery = queryParameters(
  {
    project_id: z.string().optional().openapi(param("Only this project: with a key or token, its own project (another is refused with 403); in open mode, any.")),
    user_id: many(z.string(), MAX_VALUES).openapi(param(`Only these users; repeat the parameter for several (up to ${MAX_VALUES}).`)),
    include_linked: flag().openapi(
      param(
        `With \`user_id\` (up to ${MAX_LINKED_USERS} users): also the events sent under the ids linked to these users by identify or alias (up to ${MAX_LINKED_IDS} each), whenever they were sent, before the link or after. Not for tokens confined to a user (403).`,
      ),
    ),
    action: many(z.string(), MAX_VALUES).openapi(param(`Only these actions; repeat the parameter for several (up to ${MAX_VALUES}).`)),
    from: time
      .optional()
      .openapi(
        param(
          'Event time from (inclusive): ISO-8601 with a zone, or epoch ms. Without `user_id`: 7 days before `to` by default, and at most 31 days (`API_MAX_SCAN_RANGE_MS`) before it.',
        ),
      ),
    to: time
      .optional()
      .openapi(param('Event time to (exclusive), after `from`: ISO-8601 with a zone, or epoch ms. Without `user_id`: now (plus the allowed clock skew) by default.')),
    session_id: z.string().optional().openapi(param('Only this session.')),
    order: oneOf(['asc', 'desc']).default('desc').openapi(param('By event time, then event id.')),
    limit: integer(1, ACTIVITIES_LIMIT.max).default(ACTIVITIES_LIMIT.default).openapi(param('Events per page.')),
    cursor: cursor.optional().openapi(param('`next_cursor` of the previous page, made for the same `order`.')),
    wait_for: many(z.string(expecting('event_id (UUID)')).uuid().transform((id) => id.toLowerCase()), MAX_VALUES).openapi(
      param('Read-your-write: hold the answer until these event ids are stored (up to `wait_ms`); the answer then has `waited`.'),
    ),
    wait_ms: integer(0, WAIT_MS.max).default(WAIT_MS.default).openapi(param('How long `wait_for` may hold the answer, in ms.')),
  },
  PROPERTY,
).superRefine((query, ctx) => {
  if (query.from !== undefined && query.to !== undefined && query.from >= query.to) refuse(ctx, { problem: 'must be after from' }, { field: 'to' });
  if (query.cursor && query.cursor.order !== query.order) refuse(ctx, { problem: `was made for order=${query.cursor.order}` }, { field: 'cursor' });
  if (query.include_linked && query.user_id.length === 0) refuse(ctx, { expected: 'user_id', problem: 'links are of users: name at least one' }, { field: 'include_linked' });
  if (query.include_linked && query.user_id.length > MAX_LINKED_USERS) {
    refuse(ctx, { expected: `at most ${MAX_LINKED_USERS} user_id values with include_linked`, problem: `got ${query.user_id.length}` }, { field: 'include_linked' });
  }
});

export const activitiesRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Raw events, newest first, a page at a time',
  description: [
    'Every stored field, times in ISO-8601 UTC. Keyset-paginated on (event time, event id): pass `next_cursor` back as `cursor`;',
    'pages stay stable while new events arrive.',
    '',
    `\`properties.<name>=<value>\` filters on a property's value (\`properties.plan=pro\`, \`properties.seats=3\`; up to ${MAX_PROPERTY_FILTERS}).`,
    'Any other parameter than those listed, or a repeat of a single-valued one, is refused with 400 `invalid_parameter`.',
  ].join('\n'),
  request: { query: ActivitiesQuery },
  responses: {
    200: { description: 'A page of events', content: { 'application/json': { schema: ActivitiesPageSchema } } },
    400: errorResponse('`invalid_parameter`: `details` names each parameter, what is allowed and what came'),
    ...ACCESS_ERROR_RESPONSES,
    429: {
      ...ACCESS_ERROR_RESPONSES[429],
      description:
        "`rate_limited`: over the key's limit (per API replica); `too_many_waits`: as many `wait_for` requests as the server, or the key, may hold at once are waiting: retry after `Retry-After`, or without `wait_for`",
    },
    ...CLICKHOUSE_ERROR_RESPONSES,
  },
});

/** `properties.<name>` filters: equality on a property, the value as written in the URL. */
function propertyFilters(queries: Record<string, string[]>): ActivityFilter['properties'] {
  const filters = Object.entries(queries).flatMap(([name, values]) => {
    const property = PROPERTY.exec(name);
    return property ? [{ name: property[1]!, value: values[0]! }] : [];
  });
  if (filters.length > MAX_PROPERTY_FILTERS) {
    const error: FieldError = { field: 'properties', problem: `at most ${MAX_PROPERTY_FILTERS} property filters` };
    invalidParameters([error]);
  }
  return filters;
}

/** Aborted when the client goes away before the answer (in process: the Request's own signal). */
function clientGone(c: Context): AbortSignal {
  const outgoing = outgoingOf(c);
  if (!outgoing) return c.req.raw.signal;
  const controller = new AbortController();
  // A response closes when it was sent, or when its connection closed first.
  outgoing.once('close', () => controller.abort());
  return controller.signal;
}

/**
 * Polls the id lookup until every id is stored or the wait is over. A read
 * confined to a project counts only its own project's (and users') events as
 * stored, so another project's event ids never read as present, and waits
 * for them as for an id stored nowhere: answering sooner would tell the
 * reader that the id exists in some other project.
 */
async function waitUntilStored(clickhouse: ClickHouseClient, ids: string[], waitMs: number, filter: ActivityFilter, signal: AbortSignal) {
  const started = Date.now();
  try {
    for (;;) {
      const stored = await storedEventPositions(clickhouse, ids, signal);
      const { projectId } = filter;
      let satisfied = ids.every((id) => (projectId === undefined ? stored.has(id) : stored.of(projectId, id) !== undefined));
      const waited = Date.now() - started;
      // The lookup knows each id's project, but not its user, nor the project of an id stored before
      // migration 0010: `events` confirms those (once, not on every poll of an id that is elsewhere).
      if (satisfied && projectId !== undefined && (filter.userIds.length > 0 || ids.some((id) => stored.unattributed(id)))) {
        const own = await idsOfProject(clickhouse, ids, projectId, filter.userIds);
        satisfied = ids.every((id) => own.has(id));
      }
      if (satisfied || waited >= waitMs) return { satisfied, waited_ms: waited };
      await sleep(Math.min(WAIT_POLL_MS, waitMs - waited), undefined, { signal });
    }
  } catch (err) {
    // Nobody is left to answer: stop polling (the answer below goes nowhere, only to the log and metrics).
    if (signal.aborted) throw new ApiError(408, 'client_closed', 'the client closed the connection while waiting');
    throw err;
  }
}

export interface ActivitiesDeps {
  clickhouse: ClickHouseClient;
  access: AccessControl;
  /** `wait_for` long-polls held at once: in the process, and by one key or token. */
  waits: ConcurrencyLimit;
  waitsPerKey: ConcurrencyLimit;
  /** Longest range without a user filter. */
  maxScanRangeMs: number;
  /** How far past now an event time may be (API_MAX_FUTURE_MS): the default end of a range. */
  maxFutureMs: number;
  now?: () => number;
}

/**
 * The event-time range to read. Without a user filter, ClickHouse can only
 * skip by time, so the range is bounded (defaulted, or refused naming `from`).
 */
function scanRange(
  query: { user_id: string[]; from?: number | undefined; to?: number | undefined },
  { maxScanRangeMs, maxFutureMs }: ActivitiesDeps,
  now: number,
): Pick<ActivityFilter, 'from' | 'to'> {
  if (query.user_id.length > 0) return { ...(query.from === undefined ? {} : { from: query.from }), ...(query.to === undefined ? {} : { to: query.to }) };
  const to = query.to ?? now + maxFutureMs;
  const from = query.from ?? (query.to ?? now) - DEFAULT_SCAN_MS;
  if (to - from > maxScanRangeMs) {
    invalidParameters([
      {
        field: 'from',
        expected: `at most ${+(maxScanRangeMs / DAY_MS).toFixed(2)} days before to (${iso(to)}) without user_id`,
        problem: `the range is ${((to - from) / DAY_MS).toFixed(1)} days; narrow it or filter by user_id`,
      },
    ]);
  }
  return { from, to };
}

/** A slot of both caps (the process's alone in open mode, where every client is one), or 429 `too_many_waits` at once. */
function holdWait(deps: ActivitiesDeps, principal: Principal): () => void {
  const ofKey = principal === OPEN_PRINCIPAL ? () => {} : deps.waitsPerKey.tryAcquire(principal.subject);
  const ofProcess = ofKey && deps.waits.tryAcquire();
  if (!ofProcess) {
    ofKey?.();
    throw new ApiError(429, 'too_many_waits', 'as many wait_for requests as allowed at once are waiting; retry shortly, or without wait_for', undefined, 1);
  }
  return () => {
    ofProcess();
    ofKey();
  };
}

export function createActivitiesRoutes(deps: ActivitiesDeps) {
  const { clickhouse, now = Date.now } = deps;
  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  // Apart from the chain: `.use` would not keep the OpenAPIHono type.
  routes.use(deps.access.reads('events:read'));
  return routes.openapi(activitiesRoute, async (c) => {
    const query = c.req.valid('query');
    const principal = c.get('principal');
    const projectId = readProject(principal, query.project_id);
    let userIds = readUsers(principal, query.user_id);
    if (query.include_linked) {
      readLinked(principal);
      userIds = await withLinkedIds(clickhouse, projectId, userIds);
    }
    const filter: ActivityFilter = {
      ...(projectId === undefined ? {} : { projectId }),
      userIds,
      actions: query.action,
      ...scanRange(query, deps, now()),
      ...(query.session_id === undefined ? {} : { sessionId: query.session_id }),
      properties: propertyFilters(c.req.queries()),
    };
    let waited: { satisfied: boolean; waited_ms: number } | undefined;
    if (query.wait_for.length > 0) {
      const release = holdWait(deps, principal);
      try {
        waited = await waitUntilStored(clickhouse, query.wait_for, query.wait_ms, filter, clientGone(c));
      } finally {
        release();
      }
    }
    const page = await queryActivities(clickhouse, {
      filter,
      order: query.order,
      limit: query.limit,
      ...(query.cursor ? { after: query.cursor } : {}),
    });
    const body: ActivitiesPage = {
      events: page.events,
      next_cursor: page.next ? encodeCursor(page.next, query.order) : null,
      ...(waited ? { waited } : {}),
    };
    return c.json(body, 200);
  });
}
