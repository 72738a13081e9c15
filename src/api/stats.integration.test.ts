/**
 * GET /stats parameters against the real ClickHouse engine: every bad value
 * is a 400 naming the parameter and what is allowed; ranges are bounded per
 * granularity; an empty range is 200 with an empty series, provisional.
 * (Answers against ground truth: stats-truth.integration.test.ts, e2e/windowed-aggregates.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { isolatedConfig } from '../../testing/test-config.js';
import type { ErrorBody } from './errors.js';

let api: InProcessApi;
beforeAll(async () => {
  api = await inProcessApi(isolatedConfig(inject('services')));
});
afterAll(async () => api?.close());

const RANGE = 'from=2026-01-01T00:00:00Z&to=2026-01-01T06:00:00Z';

describe('GET /stats', () => {
  it.each([
    ['/stats/users/u?to=2026-01-01T00:00:00Z', 'from'],
    [`/stats/users/u?${RANGE}&granularity=5m`, 'granularity'],
    ['/stats/users/u?granularity=1m&from=2026-01-01T00:00:00Z&to=2026-01-05T00:00:00Z', 'to'],
    [`/stats/users/u?${RANGE}&split=user`, 'split'],
    [`/stats/users/u?${RANGE}&bucket=1h`, 'bucket'],
    [`/stats/overview?${RANGE}&top=0`, 'top'],
    ['/stats/overview?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z', 'to'],
    [`/stats/users/u/sessions?${RANGE}&granularity=1h`, 'granularity'],
  ])('%s -> 400 naming %s', async (url, field) => {
    const response = await api.app.request(url);
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.details?.map((d) => d.field)).toContain(field);
  });

  it('answers an empty range with 200, an empty series, provisional and not cacheable', async () => {
    const response = await api.app.request(`/stats/users/nobody?${RANGE}&granularity=1h`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      user_id: 'nobody',
      granularity: '1h',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-01T06:00:00.000Z',
      watermark: null,
      final: false,
      late_events_dropped: 0,
      series: [],
    });
  });

  it("treats a hostile user id as the literal it is", async () => {
    const response = await api.app.request(`/stats/users/${encodeURIComponent("x' OR 1=1 --")}?${RANGE}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { series: unknown[] }).series).toEqual([]);
  });
});
