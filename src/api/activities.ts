/**
 * GET /activities: raw events straight from ClickHouse, filtered, in event
 * time order, a page at a time with an opaque cursor that stays stable while
 * new events arrive (keyset on event time and id, never OFFSET).
 *
 * Read-your-write: `wait_for=<event_id>` (repeatable) holds the answer until
 * those events are stored, up to `wait_ms`, so a client sees what it just
 * sent as soon as the worker stored it.
 */
import { Hono } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import { isUuid, type FieldError } from '../ingestion/validate-event.js';
import type { StoredEvent } from '../storage/events-table.js';
import { storedEventPositions } from '../storage/events-table.js';
import { queryActivities, type ActivityFilter, type Keyset } from '../storage/activity-query.js';
import { checkParameterNames, invalidParameters, parseTimeParam } from './params.js';

export const ACTIVITIES_LIMIT = { default: 100, max: 1_000 } as const;
const MAX_VALUES = 100;
const MAX_PROPERTY_FILTERS = 5;
const MAX_WAIT_MS = 10_000;
const WAIT_POLL_MS = 50;
const SINGLE = new Set(['from', 'to', 'session_id', 'order', 'limit', 'cursor', 'wait_ms']);
const MULTI = new Set(['user_id', 'action', 'wait_for']);
const PROPERTY = /^properties\.([A-Za-z0-9_.$-]{1,128})$/;

export interface ActivitiesPage {
  events: StoredEvent[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
  /** With wait_for: whether every awaited event was stored before the answer. */
  waited?: { satisfied: boolean; waited_ms: number };
}

interface ParsedCursor extends Keyset {
  order: 'asc' | 'desc';
}

function encodeCursor(keyset: Keyset, order: 'asc' | 'desc'): string {
  return Buffer.from(JSON.stringify({ t: keyset.timestamp, i: keyset.eventId, o: order })).toString('base64url');
}

function decodeCursor(raw: string): ParsedCursor | undefined {
  try {
    const { t, i, o } = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { t: unknown; i: unknown; o: unknown };
    if (Number.isSafeInteger(t) && isUuid(i) && (o === 'asc' || o === 'desc')) {
      return { timestamp: t as number, eventId: i, order: o };
    }
  } catch {
    // reported below as an invalid cursor
  }
  return undefined;
}

function parseQuery(queries: Record<string, string[]>) {
  const errors: FieldError[] = [];
  const one = (name: string): string | undefined => queries[name]?.[0];
  const properties: ActivityFilter['properties'] = [];
  const others: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(queries)) {
    const property = PROPERTY.exec(name);
    if (property) properties.push({ name: property[1]!, value: values[0]! });
    else others[name] = values;
    if (MULTI.has(name) && values.length > MAX_VALUES) errors.push({ field: name, problem: `at most ${MAX_VALUES} values` });
  }
  checkParameterNames(others, SINGLE, errors, MULTI);
  if (properties.length > MAX_PROPERTY_FILTERS) errors.push({ field: 'properties', problem: `at most ${MAX_PROPERTY_FILTERS} property filters` });

  const order = one('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') errors.push({ field: 'order', expected: 'asc | desc', problem: `got "${order}"` });
  const rawLimit = one('limit');
  const limit = rawLimit === undefined ? ACTIVITIES_LIMIT.default : Number(rawLimit);
  if (rawLimit !== undefined && (!/^\d+$/.test(rawLimit) || limit < 1 || limit > ACTIVITIES_LIMIT.max)) {
    errors.push({ field: 'limit', expected: `integer 1..${ACTIVITIES_LIMIT.max}`, problem: `got "${rawLimit}"` });
  }
  const from = one('from') === undefined ? undefined : parseTimeParam('from', one('from')!, errors);
  const to = one('to') === undefined ? undefined : parseTimeParam('to', one('to')!, errors);
  if (from !== undefined && to !== undefined && from >= to) errors.push({ field: 'to', problem: 'must be after from' });
  let cursor: ParsedCursor | undefined;
  const rawCursor = one('cursor');
  if (rawCursor !== undefined) {
    cursor = decodeCursor(rawCursor);
    if (!cursor) errors.push({ field: 'cursor', expected: 'a next_cursor from a previous page', problem: 'cannot be read' });
    else if (cursor.order !== order) errors.push({ field: 'cursor', problem: `was made for order=${cursor.order}` });
  }
  const waitFor = queries.wait_for ?? [];
  for (const id of waitFor) if (!isUuid(id)) errors.push({ field: 'wait_for', expected: 'event_id (UUID)', problem: `got "${id}"` });
  const rawWait = one('wait_ms');
  const waitMs = rawWait === undefined ? 5_000 : Number(rawWait);
  if (rawWait !== undefined && (!/^\d+$/.test(rawWait) || waitMs > MAX_WAIT_MS)) {
    errors.push({ field: 'wait_ms', expected: `integer 0..${MAX_WAIT_MS}`, problem: `got "${rawWait}"` });
  }
  if (errors.length > 0) invalidParameters(errors);

  const filter: ActivityFilter = {
    userIds: queries.user_id ?? [],
    actions: queries.action ?? [],
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(one('session_id') === undefined ? {} : { sessionId: one('session_id')! }),
    properties,
  };
  return { filter, order: order as 'asc' | 'desc', limit, cursor, waitFor: waitFor.map((id) => id.toLowerCase()), waitMs };
}

async function waitUntilStored(clickhouse: ClickHouseClient, ids: string[], waitMs: number) {
  const started = Date.now();
  for (;;) {
    const stored = await storedEventPositions(clickhouse, ids);
    const satisfied = ids.every((id) => stored.has(id));
    const waited = Date.now() - started;
    if (satisfied || waited >= waitMs) return { satisfied, waited_ms: waited };
    await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_POLL_MS, waitMs - waited)));
  }
}

export function createActivitiesRoutes(clickhouse: ClickHouseClient) {
  return new Hono().get('/', async (c) => {
    const query = parseQuery(c.req.queries());
    const waited = query.waitFor.length > 0 ? await waitUntilStored(clickhouse, query.waitFor, query.waitMs) : undefined;
    const page = await queryActivities(clickhouse, {
      filter: query.filter,
      order: query.order,
      limit: query.limit,
      ...(query.cursor ? { after: query.cursor } : {}),
    });
    return c.json<ActivitiesPage>({
      events: page.events,
      next_cursor: page.next ? encodeCursor(page.next, query.order) : null,
      ...(waited ? { waited } : {}),
    });
  });
}
