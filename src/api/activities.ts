/** GET /activities: the latest raw events, newest first, straight from ClickHouse. */
import { Hono } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import { latestEvents, type StoredEvent } from '../storage/events-table.js';
import { ApiError } from './errors.js';

export const ACTIVITIES_LIMIT = { default: 100, max: 1_000 } as const;
const ALLOWED_PARAMS = new Set(['limit']);

export interface ActivitiesPage {
  events: StoredEvent[];
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return ACTIVITIES_LIMIT.default;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > ACTIVITIES_LIMIT.max) {
    throw new ApiError(400, 'invalid_parameter', `limit must be an integer from 1 to ${ACTIVITIES_LIMIT.max}`, [
      { field: 'limit', expected: `integer 1..${ACTIVITIES_LIMIT.max}`, problem: `got "${raw}"` },
    ]);
  }
  return limit;
}

export function createActivitiesRoutes(clickhouse: ClickHouseClient) {
  return new Hono().get('/', async (c) => {
    const unknown = Object.keys(c.req.queries()).filter((name) => !ALLOWED_PARAMS.has(name));
    if (unknown.length > 0) {
      throw new ApiError(
        400,
        'unknown_parameter',
        `unknown query parameters; allowed: ${[...ALLOWED_PARAMS].join(', ')}`,
        unknown.map((field) => ({ field, problem: 'is not a known parameter' })),
      );
    }
    const events = await latestEvents(clickhouse, parseLimit(c.req.query('limit')));
    return c.json<ActivitiesPage>({ events });
  });
}
