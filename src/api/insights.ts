/**
 * GET /insights: questions over every user of a project (storage/*-query.ts
 * says which table answers each):
 *
 *   /insights/trends      a measure per bucket, filtered, optionally broken down (top N + `$other`)
 *   /insights/funnels     ordered steps within a conversion window, per step users and time to convert
 *   /insights/retention   cohorts by the period of a first action, returning with a second
 *   /insights/sessions    sessions per bucket: count, median and p90 duration, events per session
 *   /insights/properties  the property names seen per action, with their types
 *
 * Conventions of /stats: `stats:read`, the key's project only, a token confined
 * to one user refused (these cover every user), 400 `invalid_parameter` naming
 * each parameter, every answer with `watermark`, `final`, `late_events_dropped`,
 * final answers cacheable.
 */
import { OpenAPIHono, createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Principal } from '../auth/principal.js';
import { funnel, type FunnelCounts } from '../storage/funnel-query.js';
import { propertiesSeen } from '../storage/property-catalog.js';
import { MAX_PERIODS, periodsOf, retention } from '../storage/retention-query.js';
import { sessionsOverview } from '../storage/sessions-overview-query.js';
import { GRANULARITY_MS, progress, type Granularity, type Range } from '../storage/stats-query.js';
import { MEASURES, NUMERIC_MEASURES, OTHER, trend, trendSource, type Breakdown, type PropertyEquals } from '../storage/trends-query.js';
import { forbidden, type AccessControl, type PrincipalVariables } from './access.js';
import { ACCESS_ERROR_RESPONSES, CLICKHOUSE_ERROR_RESPONSES, errorResponse } from './errors.js';
import { expecting, integer, iso, many, oneOf, queryParameters, refuse, refuseInvalidParameters } from './params.js';
import { DAY_MS, MAX_RANGE_MS, StatsMetaSchema, TimeSchema, param, projectOf, rangeQuery, respond, statsResponses, type StatsMeta } from './stats.js';

const TOPOLOGY = 'user-activity-1m';
const SESSIONS_TOPOLOGY = 'user-sessions';
/** Ranges of the reads of raw events: as /activities without a user (API_MAX_SCAN_RANGE_MS's default). */
export const MAX_EVENTS_RANGE_MS = 31 * DAY_MS;
const MAX_RETENTION_RANGE_MS = { day: 31 * DAY_MS, week: 26 * 7 * DAY_MS } as const;
const MAX_SESSIONS_RANGE_MS = { '1h': 93 * DAY_MS, '1d': 366 * DAY_MS } as const;
const MAX_TOP = 50;
const MAX_FUNNEL_TOP = 20;
/** Points in one trend answer (buckets x series): well inside the read limits' result rows. */
const MAX_TREND_POINTS = 50_000;
const MAX_ACTIONS = 20;
const MAX_WHERE = 5;
const MIN_STEPS = 2;
const MAX_STEPS = 10;
const MAX_WINDOW_SECONDS = 31 * 86_400;
const MAX_PROPERTIES = 10_000;
const GRANULARITIES = Object.keys(GRANULARITY_MS) as [Granularity, ...Granularity[]];

// --- Parameters ---

const NAME = /^[A-Za-z0-9_.$-]{1,128}$/;
const NAME_EXPECTED = 'a property name: 1-128 of A-Z a-z 0-9 _ . $ -';
const propertyName = z.string(expecting(NAME_EXPECTED)).regex(NAME);
const actionName = z.string(expecting('an action: 1-200 characters')).min(1).max(200);
const projectId = z
  .string(expecting('a project id: 1-128 characters'))
  .min(1)
  .max(128)
  .optional()
  .openapi(param("Which project: with a key or token, its own (another is refused with 403); in open mode, `default` unless named."));

/** `NAME:VALUE`: the first `:` splits, so the value may hold more. */
function propertyEquals(raw: string, ctx: z.RefinementCtx): PropertyEquals {
  const at = raw.indexOf(':');
  const name = raw.slice(0, at);
  if (at < 0 || !NAME.test(name)) {
    refuse(ctx, { expected: `NAME:VALUE, NAME ${NAME_EXPECTED}`, problem: `got "${raw.slice(0, 200)}"` }, { fatal: true });
    return z.NEVER;
  }
  return { name, value: raw.slice(at + 1) };
}

const whereParam = z
  .string()
  .max(400, 'NAME:VALUE, at most 400 characters')
  .transform(propertyEquals)
  .openapi({ description: '`NAME:VALUE`: equality on a property (the value as a JSON string, or a number, boolean or null written so).' });

const propertyBreakdown = z.string().transform((raw, ctx): string => {
  const name = raw.startsWith('property:') ? raw.slice('property:'.length) : '';
  if (!NAME.test(name)) {
    refuse(ctx, { expected: `property:NAME, NAME ${NAME_EXPECTED}`, problem: `got "${raw.slice(0, 200)}"` }, { fatal: true });
    return z.NEVER;
  }
  return name;
});

const trendBreakdown = z.string().transform((raw, ctx): Breakdown => {
  if (raw === 'action') return { by: 'action' };
  const name = raw.startsWith('property:') ? raw.slice('property:'.length) : '';
  if (!NAME.test(name)) {
    refuse(ctx, { expected: `action | property:NAME, NAME ${NAME_EXPECTED}`, problem: `got "${raw.slice(0, 200)}"` }, { fatal: true });
    return z.NEVER;
  }
  return { by: 'property', name };
});

/** `action` or `action|NAME:VALUE`. */
const stepParam = z.string().transform((raw, ctx) => {
  const bar = raw.indexOf('|');
  const action = bar < 0 ? raw : raw.slice(0, bar);
  if (action.length < 1 || action.length > 200 || raw.length > 600) {
    refuse(ctx, { expected: 'ACTION or ACTION|NAME:VALUE (action 1-200 characters)', problem: `got "${raw.slice(0, 200)}"` }, { fatal: true });
    return z.NEVER;
  }
  return bar < 0 ? { action } : { action, where: propertyEquals(raw.slice(bar + 1), ctx) };
});

const TrendQuerySchema = rangeQuery(
  {
    project_id: projectId,
    granularity: oneOf(GRANULARITIES).default('1h').openapi(param('Bucket size; bounds the range (1m: 2 days, 1h: 93, 1d: 3 years; 31 days when raw events are read).')),
    measure: oneOf(MEASURES).default('count').openapi(param('`count` of events, `uniques` (users), or a statistic of the numeric `property`.')),
    property: propertyName.optional().openapi(param('The numeric property a `sum`/`avg`/`min`/`max`/`p50`/`p90`/`p99` reads (required by them, refused otherwise).')),
    action: many(actionName, MAX_ACTIONS).openapi(param(`Only these actions (repeat the parameter; up to ${MAX_ACTIONS}).`)),
    where: many(whereParam, MAX_WHERE).openapi(param(`Property equality, \`NAME:VALUE\` (repeat; up to ${MAX_WHERE}, all must hold). Reads raw events.`)),
    breakdown: trendBreakdown.optional().openapi(param('`action`, or `property:NAME` (reads raw events): one series per value, the top N and `$other`.')),
    top: integer(1, MAX_TOP).default(10).openapi(param(`How many values of the breakdown keep their own series (1-${MAX_TOP}); the rest are \`$other\`.`)),
  },
  (q) => Math.min(MAX_RANGE_MS[q.granularity], trendSource({ ...q, where: q.where ?? [] }) === 'events' ? MAX_EVENTS_RANGE_MS : Infinity),
).superRefine((q, ctx) => {
  const numeric = NUMERIC_MEASURES.has(q.measure);
  if (numeric && q.property === undefined) refuse(ctx, { problem: `is required with measure=${q.measure}` }, { field: 'property' });
  if (!numeric && q.property !== undefined) refuse(ctx, { problem: `is read only by a numeric measure, not measure=${q.measure}` }, { field: 'property' });
  const buckets = Math.ceil((q.to - q.from) / GRANULARITY_MS[q.granularity]);
  const series = q.breakdown === undefined ? 1 : q.top + 1;
  if (buckets * series > MAX_TREND_POINTS) {
    refuse(ctx, { expected: `buckets x (top + 1) at most ${MAX_TREND_POINTS}`, problem: `${buckets} buckets x ${series} series` }, { field: 'top' });
  }
});

const FunnelQuerySchema = rangeQuery(
  {
    project_id: projectId,
    step: many(stepParam, MAX_STEPS).openapi(param(`The steps in order (repeat; ${MIN_STEPS}-${MAX_STEPS}): \`ACTION\` or \`ACTION|NAME:VALUE\`.`)),
    window: integer(1, MAX_WINDOW_SECONDS).default(86_400).openapi(param(`Conversion window in seconds from the first step (1-${MAX_WINDOW_SECONDS}, default a day).`)),
    breakdown: propertyBreakdown.optional().openapi(param("`property:NAME`: one funnel per value of the property on the user's first step-1 event.")),
    top: integer(1, MAX_FUNNEL_TOP).default(5).openapi(param(`With a breakdown, how many values keep their own funnel (1-${MAX_FUNNEL_TOP}); the rest are \`$other\`.`)),
  },
  () => MAX_EVENTS_RANGE_MS,
).superRefine((q, ctx) => {
  if (q.step.length < MIN_STEPS) refuse(ctx, { expected: `${MIN_STEPS}-${MAX_STEPS} steps`, problem: `got ${q.step.length}` }, { field: 'step' });
});

const RetentionQuerySchema = rangeQuery(
  {
    project_id: projectId,
    first: actionName.openapi(param("The action that puts a user in the cohort of its period (the user's first in the range).")),
    return: actionName.openapi(param('The action that counts as returning.')),
    period: oneOf(['day', 'week']).default('week').openapi(param('Cohort and return period (UTC days, or weeks from Monday); bounds the range (31 days, 26 weeks).')),
  },
  (q) => MAX_RETENTION_RANGE_MS[q.period],
).superRefine((q, ctx) => {
  if (periodsOf(q, q.period) > MAX_PERIODS) refuse(ctx, { expected: `at most ${MAX_PERIODS} periods`, problem: `the range touches ${periodsOf(q, q.period)}` }, { field: 'to' });
});

const SessionsQuerySchema = rangeQuery(
  {
    project_id: projectId,
    granularity: oneOf(['1h', '1d']).default('1h').openapi(param('Bucket size; bounds the range (1h: 93 days, 1d: 366).')),
  },
  (q) => MAX_SESSIONS_RANGE_MS[q.granularity],
);

const PropertiesQuerySchema = queryParameters({
  project_id: projectId,
  action: actionName.optional().openapi(param('Only this action.')),
});

// --- Answers ---

export const TrendSchema = StatsMetaSchema.extend({
  granularity: z.enum(GRANULARITIES),
  measure: z.enum(MEASURES),
  series: z.array(
    z.object({
      key: z.string().nullable().openapi({ description: 'The action or property value; null without a breakdown; `$other` for the rest, `$none` for events without the property.' }),
      points: z.array(z.object({ t: TimeSchema, value: z.number(), final: z.boolean() })),
    }),
  ),
  uniques_error: z.string().optional().openapi({ description: 'With measure=uniques: how far the counts may be from exact.' }),
}).openapi('Trend');

const FunnelStepSchema = z.object({
  action: z.string(),
  users: z.number().int(),
  conversion_from_first: z.number().openapi({ description: 'users / users of step 1 (0..1)' }),
  conversion_from_previous: z.number().openapi({ description: 'users / users of the previous step (0..1)' }),
  median_seconds_to_convert: z.number().nullable().openapi({ description: 'Median time from step 1 to this step; null for step 1 and when nobody reached it.' }),
});

export const FunnelSchema = StatsMetaSchema.extend({
  steps: z.array(FunnelStepSchema),
  breakdown: z.array(z.object({ key: z.string(), steps: z.array(FunnelStepSchema) })).optional(),
}).openapi('Funnel');

export const RetentionSchema = StatsMetaSchema.extend({
  period: z.enum(['day', 'week']),
  cohorts: z.array(
    z.object({
      start: TimeSchema,
      users: z.number().int(),
      returned: z.array(z.number().int()).openapi({ description: 'Users of the cohort active in each period from its own (index 0: all of them), up to the range end.' }),
      percent: z.array(z.number()),
    }),
  ),
}).openapi('Retention');

export const SessionsSchema = StatsMetaSchema.extend({
  granularity: z.enum(['1h', '1d']),
  points: z.array(
    z.object({
      t: TimeSchema,
      sessions: z.number().int(),
      median_seconds: z.number(),
      p90_seconds: z.number(),
      events_per_session: z.number(),
      final: z.boolean(),
    }),
  ),
}).openapi('SessionsOverview');

export const PropertiesSchema = z
  .object({
    actions: z.array(
      z.object({
        action: z.string(),
        properties: z.array(z.object({ name: z.string(), type: z.enum(['string', 'number', 'boolean']), last_seen: TimeSchema })),
      }),
    ),
    truncated: z.boolean().openapi({ description: `More than ${MAX_PROPERTIES} (action, name, type) exist: name an action.` }),
  })
  .openapi('Properties');

// --- Routes ---

const READS = 'Reads';

/** A GET route answered by a stats body (StatsMeta and more) or the shared stats errors. */
function statsRoute<P extends string, Q extends NonNullable<NonNullable<RouteConfig['request']>['query']>, A extends z.ZodTypeAny>(route: { path: P; summary: string; description: string; query: Q; answer: A; answerDescription: string }) {
  return createRoute({
    method: 'get' as const,
    path: route.path,
    summary: route.summary,
    description: route.description,
    request: { query: route.query },
    responses: statsResponses(route.answer, route.answerDescription),
  });
}

export const trendsRoute = statsRoute({
  path: '/trends',
  summary: 'A measure over time, filtered, optionally broken down',
  description: `${READS} agg_action_activity_1m/_1h/_1d for count and uniques (by action at most), agg_property_values_1h/_1d for numeric measures (by action at most, 1h/1d), the raw events (less dropped late events) otherwise (range up to 31 days). Buckets start in [from, to). Other parameters are refused.`,
  query: TrendQuerySchema,
  answer: TrendSchema,
  answerDescription: 'The trend',
});

export const funnelsRoute = statsRoute({
  path: '/funnels',
  summary: 'Ordered steps within a conversion window',
  description: `${READS} the raw events of the range (up to 31 days, less dropped late events), walked per user as ClickHouse's windowFunnel does. Other parameters are refused.`,
  query: FunnelQuerySchema,
  answer: FunnelSchema,
  answerDescription: 'The funnel',
});

export const retentionRoute = statsRoute({
  path: '/retention',
  summary: 'Cohorts by the period of a first action, returning with a second',
  description: `${READS} the raw events of the range (less dropped late events) with ClickHouse's retention. Other parameters are refused.`,
  query: RetentionQuerySchema,
  answer: RetentionSchema,
  answerDescription: 'The cohorts',
});

export const sessionsRoute = statsRoute({
  path: '/sessions',
  summary: 'Sessions per bucket: count, median and p90 duration, events per session',
  description: `${READS} agg_user_sessions: sessions starting in each bucket. Other parameters are refused.`,
  query: SessionsQuerySchema,
  answer: SessionsSchema,
  answerDescription: 'The sessions',
});

export const propertiesRoute = createRoute({
  method: 'get',
  path: '/properties',
  summary: 'Property names seen per action, with their types',
  description: `${READS} agg_event_properties, kept as events are stored. Other parameters are refused.`,
  request: { query: PropertiesQuerySchema },
  responses: {
    200: { description: 'The properties', content: { 'application/json': { schema: PropertiesSchema } } },
    400: errorResponse('`invalid_parameter`: `details` names each parameter, what is allowed and what came'),
    ...ACCESS_ERROR_RESPONSES,
    ...CLICKHOUSE_ERROR_RESPONSES,
  },
});

// --- Handlers ---

export const UNIQUES_ERROR =
  'uniqCombined: exact up to a few thousand users per bucket, then HyperLogLog with 2^17 cells (standard error about 0.3%, within 1% in practice)';

/** Buckets starting in [from, to). */
function bucketsOf(range: Range, step: number): number[] {
  const first = Math.ceil(range.from / step) * step;
  const buckets: number[] = [];
  for (let t = first; t < range.to; t += step) buckets.push(t);
  return buckets;
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

function funnelSteps(actions: string[], counts: FunnelCounts | undefined) {
  return actions.map((action, k) => {
    const users = counts?.users[k] ?? 0;
    const median = counts?.medianMs[k] ?? null;
    return {
      action,
      users,
      conversion_from_first: ratio(users, counts?.users[0] ?? 0),
      conversion_from_previous: k === 0 ? (users > 0 ? 1 : 0) : ratio(users, counts?.users[k - 1] ?? 0),
      median_seconds_to_convert: median === null ? null : median / 1000,
    };
  });
}

export function createInsightsRoutes(clickhouse: ClickHouseClient, graceMs: number, access: AccessControl) {
  const closedBy = (watermark: number | null, end: number) => watermark !== null && end + graceMs <= watermark;
  const meta = async (topology: string, range: Range): Promise<StatsMeta & { watermarkMs: number | null }> => {
    const { watermark, lateEvents } = await progress(clickhouse, topology, range);
    return {
      from: iso(range.from),
      to: iso(range.to),
      watermark: watermark === null ? null : iso(watermark),
      final: closedBy(watermark, range.to),
      late_events_dropped: lateEvents,
      watermarkMs: watermark,
    };
  };
  /** These questions cover every user: a token confined to one is refused. */
  const projectFor = (c: Context<{ Variables: PrincipalVariables }>, requested: string | undefined): string => {
    const principal: Principal = c.get('principal');
    if (principal.userId !== undefined) throw forbidden('insights cover every user; this token reads its own user only');
    return projectOf(principal, requested);
  };

  /** The range a question asks about, in the project the caller may read. */
  const rangeFor = (c: Context<{ Variables: PrincipalVariables }>, q: { project_id?: string | undefined; from: number; to: number }): Range => ({
    projectId: projectFor(c, q.project_id),
    from: q.from,
    to: q.to,
  });

  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  routes.use(access.reads('stats:read'));
  return routes
    .openapi(trendsRoute, async (c) => {
      const q = c.req.valid('query');
      const range = rangeFor(c, q);
      const step = GRANULARITY_MS[q.granularity];
      const [found, { watermarkMs, ...info }] = await Promise.all([
        trend(clickhouse, {
          range,
          granularity: q.granularity,
          measure: q.measure,
          ...(q.property === undefined ? {} : { property: q.property }),
          actions: q.action,
          where: q.where,
          ...(q.breakdown === undefined ? {} : { breakdown: q.breakdown }),
          top: q.top,
        }),
        meta(TOPOLOGY, range),
      ]);
      const byKey = new Map<string | null, Map<number, number>>();
      for (const row of found) {
        const points = byKey.get(row.key) ?? new Map<number, number>();
        points.set(row.t, row.value);
        byKey.set(row.key, points);
      }
      if (q.breakdown === undefined && byKey.size === 0) byKey.set(null, new Map());
      // Counts are zero where nothing happened; a statistic of no value has no point.
      const fill = !NUMERIC_MEASURES.has(q.measure);
      const buckets = bucketsOf(range, step);
      const total = (points: Map<number, number>) => [...points.values()].reduce((sum, v) => sum + v, 0);
      const series = [...byKey]
        .sort(([a, x], [b, y]) => Number(a === OTHER) - Number(b === OTHER) || total(y) - total(x) || String(a).localeCompare(String(b)))
        .map(([key, points]) => ({
          key,
          points: (fill ? buckets : [...points.keys()]).map((t) => ({ t: iso(t), value: points.get(t) ?? 0, final: closedBy(watermarkMs, t + step) })),
        }));
      const body: z.infer<typeof TrendSchema> = {
        ...info,
        granularity: q.granularity,
        measure: q.measure,
        series,
        ...(q.measure === 'uniques' ? { uniques_error: UNIQUES_ERROR } : {}),
      };
      return respond(c, body);
    })
    .openapi(funnelsRoute, async (c) => {
      const q = c.req.valid('query');
      const range = rangeFor(c, q);
      const query = { range, steps: q.step, windowMs: q.window * 1000, top: q.top };
      const [overall, split, { watermarkMs: _, ...info }] = await Promise.all([
        funnel(clickhouse, query),
        q.breakdown === undefined ? Promise.resolve(undefined) : funnel(clickhouse, { ...query, breakdown: q.breakdown }),
        meta(TOPOLOGY, range),
      ]);
      const actions = q.step.map((s) => s.action);
      const body: z.infer<typeof FunnelSchema> = {
        ...info,
        steps: funnelSteps(actions, overall[0]),
        ...(split === undefined ? {} : { breakdown: split.map((counts) => ({ key: counts.key ?? '', steps: funnelSteps(actions, counts) })) }),
      };
      return respond(c, body);
    })
    .openapi(retentionRoute, async (c) => {
      const q = c.req.valid('query');
      const range = rangeFor(c, q);
      const [cohorts, { watermarkMs: _, ...info }] = await Promise.all([
        retention(clickhouse, { range, first: q.first, return: q.return, period: q.period }),
        meta(TOPOLOGY, range),
      ]);
      const body: z.infer<typeof RetentionSchema> = {
        ...info,
        period: q.period,
        cohorts: cohorts.map((cohort) => ({
          start: iso(cohort.start),
          users: cohort.users,
          returned: cohort.returned,
          percent: cohort.returned.map((n) => Math.round(ratio(n, cohort.users) * 10_000) / 100),
        })),
      };
      return respond(c, body);
    })
    .openapi(sessionsRoute, async (c) => {
      const q = c.req.valid('query');
      const range = rangeFor(c, q);
      const step = q.granularity === '1h' ? 3_600_000 : DAY_MS;
      const [buckets, { watermarkMs, ...info }] = await Promise.all([sessionsOverview(clickhouse, range, q.granularity), meta(SESSIONS_TOPOLOGY, range)]);
      const points = buckets.map((b) => ({
        t: iso(b.t),
        sessions: b.sessions,
        median_seconds: b.median_ms / 1000,
        p90_seconds: b.p90_ms / 1000,
        events_per_session: b.events_per_session,
        final: b.all_final === 1 && closedBy(watermarkMs, b.t + step),
      }));
      const body: z.infer<typeof SessionsSchema> = { ...info, final: info.final && points.every((p) => p.final), granularity: q.granularity, points };
      return respond(c, body);
    })
    .openapi(propertiesRoute, async (c) => {
      const q = c.req.valid('query');
      const seen = await propertiesSeen(clickhouse, projectFor(c, q.project_id), q.action, MAX_PROPERTIES + 1);
      const actions = new Map<string, z.infer<typeof PropertiesSchema>['actions'][number]['properties']>();
      for (const p of seen.slice(0, MAX_PROPERTIES)) {
        const list = actions.get(p.action) ?? [];
        list.push({ name: p.name, type: p.type, last_seen: iso(p.last_seen) });
        actions.set(p.action, list);
      }
      // Properties change as events come: a short private cache at most.
      c.header('Cache-Control', 'private, max-age=60');
      return c.json({ actions: [...actions].map(([action, properties]) => ({ action, properties })), truncated: seen.length > MAX_PROPERTIES }, 200);
    });
}

