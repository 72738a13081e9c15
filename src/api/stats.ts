/**
 * GET /stats: aggregates from the tables the topologies write (see
 * storage/stats-query.ts for which table serves which query).
 *
 *   /stats/users/:user_id           a user's event counts at 1m, 1h or 1d, optionally per action
 *   /stats/users/:user_id/sessions  a user's sessions with event count and duration
 *   /stats/overview                 events, unique users, per action, top users and actions
 *
 * Every answer says whether its windows are final or still open
 * (provisional), the topology's watermark, and how many late events were
 * dropped in the range. A final answer is cacheable (ETag, Cache-Control).
 */
import { createHash } from 'node:crypto';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import { GRANULARITY_MS, overview, progress, userSeries, userSessions, type Granularity, type Range } from '../storage/stats-query.js';
import type { Principal } from '../auth/principal.js';
import { MAX_LINKED_IDS, withLinkedIds } from '../storage/identity-query.js';
import { forbidden, readLinked, readProject, readUsers, type AccessControl, type PrincipalVariables } from './access.js';
import { ACCESS_ERROR_RESPONSES, CLICKHOUSE_ERROR_RESPONSES, errorResponse } from './errors.js';
import { flag, integer, iso, oneOf, queryParameters, refuse, refuseInvalidParameters, time } from './params.js';

const TOPOLOGY = 'user-activity-1m';
const SESSIONS_TOPOLOGY = 'user-sessions';
export const DAY_MS = 86_400_000;
/** The longest range each granularity answers, so one caller cannot read the world. */
export const MAX_RANGE_MS: Record<Granularity, number> = { '1m': 2 * DAY_MS, '1h': 93 * DAY_MS, '1d': 3 * 366 * DAY_MS };
const MAX_TOP = 100;
const GRANULARITIES = Object.keys(GRANULARITY_MS) as [Granularity, ...Granularity[]];

// --- Answers ---

export const TimeSchema = z.string().datetime().openapi({ description: 'ISO-8601, UTC' });

export const StatsMetaSchema = z.object({
  from: TimeSchema,
  to: TimeSchema,
  watermark: TimeSchema.nullable().openapi({ description: 'Event time every partition has reached; windows ending before it (plus grace) are final. Null before any event.' }),
  final: z.boolean().openapi({ description: 'Every window in the answer is closed: the answer will not change (and is cacheable).' }),
  late_events_dropped: z.number().int().openapi({ description: 'Events that came after their window closed, in the range.' }),
});

const countsSchema = z.record(z.number().int());

const LinkedIdsSchema = z
  .array(z.string())
  .optional()
  .openapi({ description: 'With `include_linked=true`: the ids linked to the user whose counts the answer includes' });

export const UserSeriesSchema = StatsMetaSchema.extend({
  user_id: z.string(),
  linked_ids: LinkedIdsSchema,
  granularity: z.enum(GRANULARITIES),
  series: z.array(
    z.object({
      start: TimeSchema,
      events: z.number().int(),
      actions: countsSchema.optional().openapi({ description: 'Events per action, with `split=action`.' }),
      final: z.boolean(),
    }),
  ),
}).openapi('UserSeries');

export const UserSessionsSchema = StatsMetaSchema.extend({
  user_id: z.string(),
  linked_ids: LinkedIdsSchema,
  sessions: z.array(
    z.object({ start: TimeSchema, end: TimeSchema, events: z.number().int(), duration_ms: z.number().int(), final: z.boolean() }),
  ),
}).openapi('UserSessions');

export const OverviewSchema = StatsMetaSchema.extend({
  events: z.number().int(),
  unique_users: z.number().int(),
  actions: countsSchema.openapi({ description: 'Events per action.' }),
  top_users: z.array(z.object({ user_id: z.string(), events: z.number().int() })),
  top_actions: z.array(z.object({ action: z.string(), events: z.number().int() })),
}).openapi('Overview');

export type StatsMeta = z.infer<typeof StatsMetaSchema>;

// --- Requests ---

export const param = (description: string) => ({ param: { description } });

const RangeShape = {
  from: time.openapi(param('Range start (inclusive): ISO-8601 with a zone, or epoch ms.')),
  to: time.openapi(param('Range end (exclusive), after `from` and within the longest range the route answers: ISO-8601 with a zone, or epoch ms.')),
  project_id: z.string().optional().openapi(param("Which project: with a key or token, its own (another is refused with 403); in open mode, `default` unless named.")),
};
export type RangeParameters = z.infer<z.ZodObject<typeof RangeShape>>;

/** `from` and `to` (required, to after from, at most `maxRangeMs` apart) and `project_id`, with the route's own parameters. */
export function rangeQuery<S extends z.ZodRawShape>(shape: S, maxRangeMs: (query: z.infer<z.ZodObject<S>>) => number) {
  return queryParameters({ ...RangeShape, ...shape }).superRefine((query, ctx) => {
    // The compiler cannot see through the generic spread: these are RangeShape's and S's.
    const { from, to } = query as RangeParameters;
    const max = maxRangeMs(query as z.infer<z.ZodObject<S>>);
    if (from >= to) refuse(ctx, { problem: 'must be after from' }, { field: 'to' });
    else if (to - from > max) {
      refuse(ctx, { expected: `a range of at most ${max / DAY_MS} days here`, problem: `the range is ${((to - from) / DAY_MS).toFixed(1)} days` }, { field: 'to' });
    }
  });
}

const INCLUDE_LINKED = {
  include_linked: flag().openapi(
    param(
      `Also the events sent under the ids linked to the user by identify or alias (up to ${MAX_LINKED_IDS}), in windows closed before the link as in later ones: each id's windows are summed at read time. The answer then is never cached (a new link changes it). Not for tokens confined to a user (403).`,
    ),
  ),
};

const UserPath = z.object({ user_id: z.string().openapi(param("The application's own user identifier.")) });

const CACHING_HEADERS = z.object({
  ETag: z.string().openapi({ description: 'On a final answer' }),
  'Cache-Control': z.string().openapi({ description: '`public, max-age=300` on a final answer, `no-store` on an open one' }),
});

export function statsResponses<T extends z.ZodTypeAny>(schema: T, description: string) {
  return {
    200: { description, headers: CACHING_HEADERS, content: { 'application/json': { schema } } },
    304: { description: 'Not modified: a final answer whose ETag the client sent in If-None-Match' },
    400: errorResponse('`invalid_parameter`: `details` names each parameter, what is allowed and what came'),
    ...ACCESS_ERROR_RESPONSES,
    ...CLICKHOUSE_ERROR_RESPONSES,
  };
}

export const userSeriesRoute = createRoute({
  method: 'get',
  path: '/users/{user_id}',
  summary: "A user's event counts per bucket",
  description: `Reads agg_user_activity_1m (1m, range up to ${MAX_RANGE_MS['1m'] / DAY_MS} days), _1h (up to ${MAX_RANGE_MS['1h'] / DAY_MS} days) or _1d (up to ${MAX_RANGE_MS['1d'] / DAY_MS} days). Other parameters are refused.`,
  request: {
    params: UserPath,
    query: rangeQuery(
      {
        granularity: oneOf(GRANULARITIES).default('1h').openapi(param('Bucket size; bounds the range.')),
        split: oneOf(['action']).optional().openapi(param('`action`: each bucket also counts events per action.')),
        ...INCLUDE_LINKED,
      },
      (query) => MAX_RANGE_MS[query.granularity],
    ),
  },
  responses: statsResponses(UserSeriesSchema, "The user's series"),
});

export const userSessionsRoute = createRoute({
  method: 'get',
  path: '/users/{user_id}/sessions',
  summary: "A user's sessions starting in the range",
  description: `Reads agg_user_sessions. The range is up to ${MAX_RANGE_MS['1h'] / DAY_MS} days. Other parameters are refused.`,
  request: { params: UserPath, query: rangeQuery({ ...INCLUDE_LINKED }, () => MAX_RANGE_MS['1h']) },
  responses: statsResponses(UserSessionsSchema, "The user's sessions"),
});

export const overviewRoute = createRoute({
  method: 'get',
  path: '/overview',
  summary: 'Events, unique users, per action, top users and actions',
  description: `Over the whole hours starting in the range (up to ${MAX_RANGE_MS['1h'] / DAY_MS} days), from agg_user_activity_1h. Other parameters are refused.`,
  request: {
    query: rangeQuery({ top: integer(1, MAX_TOP).default(10).openapi(param('How many top users and actions.')) }, () => MAX_RANGE_MS['1h']),
  },
  responses: statsResponses(OverviewSchema, 'The overview'),
});

// --- Handlers ---

/** Final answers are cacheable and tagged; open ones, and those a new link may change, must not be cached. */
export function respond<T extends { final: boolean; linked_ids?: string[] | undefined }>(c: Context, body: T) {
  if (!body.final || body.linked_ids !== undefined) {
    c.header('Cache-Control', 'no-store');
    return c.json(body, 200);
  }
  const etag = `"${createHash('sha1').update(JSON.stringify(body)).digest('base64url')}"`;
  c.header('ETag', etag);
  c.header('Cache-Control', 'public, max-age=300');
  if (c.req.header('if-none-match') === etag) return c.body(null, 304);
  return c.json(body, 200);
}

/** The project a stats read is for: the principal's, or in open mode the one named (`default` if none). */
export function projectOf(principal: Principal, requested: string | undefined): string {
  return readProject(principal, requested) ?? 'default';
}

export function createStatsRoutes(clickhouse: ClickHouseClient, graceMs: number, access: AccessControl) {
  const closedBy = (watermark: number | null, end: number) => watermark !== null && end + graceMs <= watermark;
  const meta = async (topology: string, range: Range, lastEnd: number): Promise<StatsMeta> => {
    const { watermark, lateEvents } = await progress(clickhouse, topology, range);
    return {
      from: iso(range.from),
      to: iso(range.to),
      watermark: watermark === null ? null : iso(watermark),
      final: closedBy(watermark, lastEnd),
      late_events_dropped: lateEvents,
    };
  };
  const rangeOf = (principal: Principal, query: RangeParameters): Range => ({ projectId: projectOf(principal, query.project_id), from: query.from, to: query.to });
  /** The path's user, which a user-confined token must be. */
  const userOf = (c: Context<{ Variables: PrincipalVariables }>, userId: string) => readUsers(c.get('principal'), [userId])[0]!;
  /** The ids whose windows the answer sums: the user's, and with include_linked its linked ids'. */
  const idsOf = async (principal: Principal, userId: string, range: Range, includeLinked: boolean) => {
    if (!includeLinked) return { ids: [userId] };
    readLinked(principal);
    const ids = await withLinkedIds(clickhouse, range.projectId, [userId]);
    return { ids, linked: ids.slice(1) };
  };

  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  routes.use(access.reads('stats:read'));
  return routes
    .openapi(userSeriesRoute, async (c) => {
      const userId = userOf(c, c.req.valid('param').user_id);
      const query = c.req.valid('query');
      const range = rangeOf(c.get('principal'), query);
      const step = GRANULARITY_MS[query.granularity];
      const { ids, linked } = await idsOf(c.get('principal'), userId, range, query.include_linked);
      const [points, info] = await Promise.all([userSeries(clickhouse, ids, query.granularity, range), meta(TOPOLOGY, range, range.to)]);
      const watermark = info.watermark === null ? null : Date.parse(info.watermark);
      const body: z.infer<typeof UserSeriesSchema> = {
        user_id: userId,
        ...(linked ? { linked_ids: linked } : {}),
        granularity: query.granularity,
        ...info,
        series: points.map((p) => ({
          start: iso(p.start),
          events: p.events,
          ...(query.split ? { actions: p.actions } : {}),
          final: closedBy(watermark, p.start + step),
        })),
      };
      return respond(c, body);
    })
    .openapi(userSessionsRoute, async (c) => {
      const userId = userOf(c, c.req.valid('param').user_id);
      const query = c.req.valid('query');
      const range = rangeOf(c.get('principal'), query);
      const { ids, linked } = await idsOf(c.get('principal'), userId, range, query.include_linked);
      const [sessions, info] = await Promise.all([userSessions(clickhouse, ids, range), meta(SESSIONS_TOPOLOGY, range, range.to)]);
      const body: z.infer<typeof UserSessionsSchema> = {
        user_id: userId,
        ...(linked ? { linked_ids: linked } : {}),
        ...info,
        final: info.final && sessions.every((s) => s.is_final === 1),
        sessions: sessions.map((s) => ({ start: iso(s.start), end: iso(s.end), events: s.events, duration_ms: s.duration_ms, final: s.is_final === 1 })),
      };
      return respond(c, body);
    })
    .openapi(overviewRoute, async (c) => {
      const principal = c.get('principal');
      if (principal.userId !== undefined) throw forbidden('the overview covers every user; this token reads its own user only');
      const query = c.req.valid('query');
      const range = rangeOf(principal, query);
      const [totals, info] = await Promise.all([overview(clickhouse, range, query.top), meta(TOPOLOGY, range, range.to)]);
      const topActions = Object.entries(totals.actions)
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
        .slice(0, query.top)
        .map(([action, events]) => ({ action, events }));
      const body: z.infer<typeof OverviewSchema> = {
        ...info,
        events: totals.events,
        unique_users: totals.uniqueUsers,
        actions: totals.actions,
        top_users: totals.topUsers,
        top_actions: topActions,
      };
      return respond(c, body);
    });
}
