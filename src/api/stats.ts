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
import { Hono, type Context } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FieldError } from '../ingestion/validate-event.js';
import { GRANULARITY_MS, overview, progress, userSeries, userSessions, type Granularity, type Range } from '../storage/stats-query.js';
import { checkParameterNames, invalidParameters, iso, parseTimeParam } from './params.js';

const TOPOLOGY = 'user-activity-1m';
const SESSIONS_TOPOLOGY = 'user-sessions';
/** The longest range each granularity answers, so one caller cannot read the world. */
export const MAX_RANGE_MS: Record<Granularity, number> = { '1m': 2 * 86_400_000, '1h': 93 * 86_400_000, '1d': 3 * 366 * 86_400_000 };
const MAX_TOP = 100;

export interface StatsMeta {
  from: string;
  to: string;
  /** Event time every partition has reached; windows ending before it (plus grace) are final. */
  watermark: string | null;
  /** true when every window in the answer is closed: the answer will not change. */
  final: boolean;
  late_events_dropped: number;
}

interface RangeQuery {
  range: Range;
  queries: Record<string, string[]>;
}

function parseRange(c: Context, allowed: string[], maxRangeMs: (q: Record<string, string[]>) => number, errors: FieldError[]): RangeQuery {
  const queries = c.req.queries();
  checkParameterNames(queries, new Set(['from', 'to', 'project_id', ...allowed]), errors);
  const rawFrom = queries.from?.[0];
  const rawTo = queries.to?.[0];
  if (rawFrom === undefined) errors.push({ field: 'from', problem: 'is required' });
  if (rawTo === undefined) errors.push({ field: 'to', problem: 'is required' });
  const from = rawFrom === undefined ? undefined : parseTimeParam('from', rawFrom, errors);
  const to = rawTo === undefined ? undefined : parseTimeParam('to', rawTo, errors);
  if (from !== undefined && to !== undefined) {
    if (from >= to) errors.push({ field: 'to', problem: 'must be after from' });
    else if (to - from > maxRangeMs(queries)) {
      errors.push({ field: 'to', expected: `a range of at most ${maxRangeMs(queries) / 86_400_000} days here`, problem: `the range is ${((to - from) / 86_400_000).toFixed(1)} days` });
    }
  }
  return { range: { projectId: queries.project_id?.[0] ?? 'default', from: from ?? 0, to: to ?? 0 }, queries };
}

function granularityOf(queries: Record<string, string[]>, errors?: FieldError[]): Granularity {
  const raw = queries.granularity?.[0] ?? '1h';
  if (raw in GRANULARITY_MS) return raw as Granularity;
  errors?.push({ field: 'granularity', expected: Object.keys(GRANULARITY_MS).join(' | '), problem: `got "${raw}"` });
  return '1h';
}

/** Final answers are cacheable and tagged; open ones must not be cached. */
function respond<T extends { final: boolean }>(c: Context, body: T) {
  if (!body.final) {
    c.header('Cache-Control', 'no-store');
    return c.json(body);
  }
  const etag = `"${createHash('sha1').update(JSON.stringify(body)).digest('base64url')}"`;
  c.header('ETag', etag);
  c.header('Cache-Control', 'public, max-age=300');
  if (c.req.header('if-none-match') === etag) return c.body(null, 304);
  return c.json(body);
}

export function createStatsRoutes(clickhouse: ClickHouseClient, graceMs: number) {
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

  return new Hono()
    .get('/users/:user_id', async (c) => {
      const errors: FieldError[] = [];
      const { range, queries } = parseRange(c, ['granularity', 'split'], (q) => MAX_RANGE_MS[granularityOf(q)], errors);
      const granularity = granularityOf(queries, errors);
      const split = queries.split?.[0];
      if (split !== undefined && split !== 'action') errors.push({ field: 'split', expected: 'action', problem: `got "${split}"` });
      if (errors.length > 0) invalidParameters(errors);
      const step = GRANULARITY_MS[granularity];
      const [points, info] = await Promise.all([
        userSeries(clickhouse, c.req.param('user_id'), granularity, range),
        meta(TOPOLOGY, range, range.to),
      ]);
      const watermark = info.watermark === null ? null : Date.parse(info.watermark);
      return respond(c, {
        user_id: c.req.param('user_id'),
        granularity,
        ...info,
        series: points.map((p) => ({
          start: iso(p.start),
          events: p.events,
          ...(split ? { actions: p.actions } : {}),
          final: closedBy(watermark, p.start + step),
        })),
      });
    })
    .get('/users/:user_id/sessions', async (c) => {
      const errors: FieldError[] = [];
      const { range } = parseRange(c, [], () => MAX_RANGE_MS['1h'], errors);
      if (errors.length > 0) invalidParameters(errors);
      const [sessions, info] = await Promise.all([userSessions(clickhouse, c.req.param('user_id'), range), meta(SESSIONS_TOPOLOGY, range, range.to)]);
      return respond(c, {
        user_id: c.req.param('user_id'),
        ...info,
        final: info.final && sessions.every((s) => s.is_final === 1),
        sessions: sessions.map((s) => ({ start: iso(s.start), end: iso(s.end), events: s.events, duration_ms: s.duration_ms, final: s.is_final === 1 })),
      });
    })
    .get('/overview', async (c) => {
      const errors: FieldError[] = [];
      const { range, queries } = parseRange(c, ['top'], () => MAX_RANGE_MS['1h'], errors);
      const rawTop = queries.top?.[0];
      const top = rawTop === undefined ? 10 : Number(rawTop);
      if (rawTop !== undefined && (!/^\d+$/.test(rawTop) || top < 1 || top > MAX_TOP)) {
        errors.push({ field: 'top', expected: `integer 1..${MAX_TOP}`, problem: `got "${rawTop}"` });
      }
      if (errors.length > 0) invalidParameters(errors);
      const [totals, info] = await Promise.all([overview(clickhouse, range, top), meta(TOPOLOGY, range, range.to)]);
      const topActions = Object.entries(totals.actions)
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
        .slice(0, top)
        .map(([action, events]) => ({ action, events }));
      return respond(c, {
        ...info,
        events: totals.events,
        unique_users: totals.uniqueUsers,
        actions: totals.actions,
        top_users: totals.topUsers,
        top_actions: topActions,
      });
    });
}
