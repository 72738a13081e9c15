/**
 * The API's ClickHouse client holds every query to READ_LIMITS, whoever
 * writes the query, and an answer over a limit reaches the client as the
 * API's 422, not as a 500.
 */
import { Hono } from 'hono';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createErrorHandler, type ErrorBody } from '../api/errors.js';
import { createLogger } from '../logger.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { createReadClickHouse } from './clickhouse.js';
import { READ_LIMITS } from './read-limits.js';

const config = isolatedConfig(inject('services'));
// The database need not exist: these queries name none of its tables.
const client = createReadClickHouse({ ...config.clickhouse, database: 'default' });
afterAll(() => client.close());

describe("the API's ClickHouse client", () => {
  it.each(Object.entries(READ_LIMITS))('carries %s = %s on every query', async (name, value) => {
    const result = await client.query({ query: 'SELECT toString(getSetting({name:String})) AS value', query_params: { name }, format: 'JSONEachRow' });
    expect(await result.json()).toEqual([{ value: String(value) }]);
  });

  it('answers a result over max_result_rows with 422 query_too_large', async () => {
    const app = new Hono()
      .get('/', async (c) => c.json(await (await client.query({ query: 'SELECT number FROM numbers(200000)', format: 'JSONEachRow' })).json()))
      .onError(createErrorHandler(createLogger('silent', 'test')));
    const response = await app.request('/');
    expect(response.status).toBe(422);
    expect(((await response.json()) as ErrorBody).error.code).toBe('query_too_large');
  });
});
