/**
 * GET /activities: raw events straight from ClickHouse, filtered, in event
 * time order, a page at a time with an opaque cursor that stays stable while
 * new events arrive (keyset on event time and id, never OFFSET).
 *
 * Read-your-write: `wait_for=<event_id>` (repeatable) holds the answer until
 * those events are stored, up to `wait_ms`, so a client sees what it just
 * sent as soon as the worker stored it.
 *
 * The route's definition (parameters, answers) validates requests and is the
 * OpenAPI document's; `properties.<name>` filters are read here, beside it,
 * because OpenAPI cannot name a family of parameters.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FieldError } from '../ingestion/validate-event.js';
import { idsOfProject, storedEventPositions } from '../storage/events-table.js';
import { queryActivities, type ActivityFilter } from '../storage/activity-query.js';
import { readProject, readUsers, type AccessControl, type PrincipalVariables } from './access.js';
import { decodeCursor, encodeCursor } from './activities-cursor.js';
import { ACCESS_ERROR_RESPONSES, CLICKHOUSE_ERROR_RESPONSES, errorResponse } from './errors.js';
import { expecting, integer, invalidParameters, many, oneOf, queryParameters, refuse, refuseInvalidParameters, time } from './params.js';

export const ACTIVITIES_LIMIT = { default: 100, max: 1_000 } as const;
const MAX_VALUES = 100;
const MAX_PROPERTY_FILTERS = 5;
const WAIT_MS = { default: 5_000, max: 10_000 } as const;
const WAIT_POLL_MS = 50;
const PROPERTY = /^properties\.([A-Za-z0-9_.$-]{1,128})$/;

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
    action: many(z.string(), MAX_VALUES).openapi(param(`Only these actions; repeat the parameter for several (up to ${MAX_VALUES}).`)),
    from: time.optional().openapi(param('Event time from (inclusive): ISO-8601 with a zone, or epoch ms.')),
    to: time.optional().openapi(param('Event time to (exclusive), after `from`: ISO-8601 with a zone, or epoch ms.')),
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

/**
 * Polls the id lookup until every id is stored or the wait is over. A read
 * confined to a project counts only its own project's (and users') events as
 * stored, so another project's event ids never read as present, and waits
 * for them as for an id stored nowhere: answering sooner would tell the
 * reader that the id exists in some other project.
 */
async function waitUntilStored(clickhouse: ClickHouseClient, ids: string[], waitMs: number, filter: ActivityFilter) {
  const started = Date.now();
  for (;;) {
    const stored = await storedEventPositions(clickhouse, ids);
    let satisfied = ids.every((id) => stored.has(id));
    const waited = Date.now() - started;
    if (satisfied && filter.projectId !== undefined) {
      const own = await idsOfProject(clickhouse, ids, filter.projectId, filter.userIds);
      satisfied = ids.every((id) => own.has(id));
    }
    if (satisfied || waited >= waitMs) return { satisfied, waited_ms: waited };
    await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_POLL_MS, waitMs - waited)));
  }
}

export function createActivitiesRoutes(clickhouse: ClickHouseClient, access: AccessControl) {
  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  // Apart from the chain: `.use` would not keep the OpenAPIHono type.
  routes.use(access.reads('events:read'));
  return routes.openapi(activitiesRoute, async (c) => {
    const query = c.req.valid('query');
    const principal = c.get('principal');
    const projectId = readProject(principal, query.project_id);
    const filter: ActivityFilter = {
      ...(projectId === undefined ? {} : { projectId }),
      userIds: readUsers(principal, query.user_id),
      actions: query.action,
      ...(query.from === undefined ? {} : { from: query.from }),
      ...(query.to === undefined ? {} : { to: query.to }),
      ...(query.session_id === undefined ? {} : { sessionId: query.session_id }),
      properties: propertyFilters(c.req.queries()),
    };
    const waited = query.wait_for.length > 0 ? await waitUntilStored(clickhouse, query.wait_for, query.wait_ms, filter) : undefined;
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
