/** Checks on what the running system answers, shared by integration and e2e tests. */
import { expect } from 'vitest';
import type { ClickHouseClient } from '../src/storage/clickhouse.js';

/** The response's JSON body, after checking its status (the body is the assertion's message, so a failure says why). */
export async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** How many rows of the raw `events` table match `where` (a condition with {name:Type} parameters). */
export async function countEvents(clickhouse: ClickHouseClient, where: string, params: Record<string, unknown> = {}): Promise<number> {
  const result = await clickhouse.query({ query: `SELECT count() AS n FROM events WHERE ${where}`, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n ?? 0);
}
