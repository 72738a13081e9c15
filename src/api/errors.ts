/**
 * The API's one error shape and the handler that produces it:
 * `{ "error": { "code", "message", "details"? } }`, where details name each
 * offending field and why.
 */
import { ClickHouseError } from '@clickhouse/client';
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { FieldError } from '../ingestion/validate-event.js';
import type { Logger } from '../logger.js';

export const FieldErrorSchema = z
  .object({
    field: z.string().openapi({ description: 'Path of the offending field or parameter, e.g. `limit`, `properties.plan`; `$` for the whole.' }),
    expected: z.string().optional().openapi({ description: 'What is allowed there, when a type or range is at fault.' }),
    problem: z.string().openapi({ description: 'What is wrong with what came.' }),
  })
  .openapi('FieldError');

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'Stable, to branch on: `invalid_parameter`, `not_found`, `payload_too_large`, …', example: 'invalid_parameter' }),
      message: z.string(),
      details: z.array(FieldErrorSchema).optional(),
    }),
  })
  .openapi('Error', { description: "The API's one error shape." });

export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** A documented error response: the one error shape, in JSON. */
export function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: ErrorBodySchema } } };
}

/** A documented 503: the same shape, with when to retry. */
export function unavailableResponse(description: string) {
  return {
    ...errorResponse(description),
    headers: z.object({ 'Retry-After': z.string().openapi({ description: 'Seconds after which a retry may succeed' }) }),
  };
}

/** What a read route answers when ClickHouse refuses or misses a query (see fromClickHouse). */
export const CLICKHOUSE_ERROR_RESPONSES = {
  422: errorResponse('`query_too_large`: the query would read more rows, or use more memory, than allowed; narrow the range or the filters'),
  503: unavailableResponse('`clickhouse_unavailable`'),
  504: errorResponse('`query_timeout`: the query took longer than allowed; narrow the range or the filters'),
} as const;

/** What a route behind a key or token may answer besides its own results (see access.ts). */
export const ACCESS_ERROR_RESPONSES = {
  401: {
    ...errorResponse('`unauthorized`: no credentials, or ones that are not valid (never says which)'),
    headers: z.object({ 'WWW-Authenticate': z.string() }),
  },
  403: errorResponse("`forbidden`: valid credentials without the route's scope, or naming another project or user"),
  429: {
    ...errorResponse("`rate_limited`: over the key's limit (per API replica); `too_many_queries`: the key has as many read requests in flight as allowed"),
    headers: z.object({
      'Retry-After': z.string().openapi({ description: 'Seconds after which the same request would be admitted' }),
      'RateLimit-Policy': z.string().openapi({ description: 'IETF RateLimit-Policy, e.g. `"write";q=1000;w=1`' }),
      RateLimit: z.string().openapi({ description: 'IETF RateLimit, e.g. `"write";r=0;t=1`' }),
    }),
  },
} as const;

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: FieldError[],
    /** Seconds after which a retry may succeed (sent as Retry-After). */
    readonly retryAfter?: number,
    /** Further response headers: WWW-Authenticate on a 401, the RateLimit fields on a 429. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export function errorBody(error: ApiError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    },
  };
}

/** ClickHouse refusing a query over its limits, or not answering, in the API's terms. */
function fromClickHouse(err: Error): ApiError | undefined {
  if (err instanceof ClickHouseError) {
    if (err.code === '159') return new ApiError(504, 'query_timeout', 'the query took longer than allowed; narrow the range or the filters');
    // TOO_MANY_ROWS, TOO_MANY_BYTES, TOO_MANY_ROWS_OR_BYTES (max_result_rows), MEMORY_LIMIT_EXCEEDED: see storage/read-limits.ts.
    if (err.code === '158' || err.code === '307' || err.code === '396' || err.code === '241') {
      return new ApiError(422, 'query_too_large', 'the query would read more rows, or use more memory, than allowed; narrow the range or the filters');
    }
    return undefined;
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || /timeout/i.test(err.message)) {
    return new ApiError(503, 'clickhouse_unavailable', `ClickHouse unavailable: ${err.message}`, undefined, 5);
  }
  return undefined;
}

export function createErrorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    const error =
      err instanceof ApiError ? err : (fromClickHouse(err) ?? new ApiError(500, 'internal_error', 'internal error; see the server log'));
    // A dependency being down (503) is expected operation, a 500 is a bug.
    if (error.status === 500) logger.error({ err, request_id: c.get('requestId'), path: c.req.path }, 'request failed');
    else if (error.status >= 500) logger.warn({ request_id: c.get('requestId'), code: error.code, reason: error.message, path: c.req.path }, 'dependency unavailable');
    if (error.retryAfter !== undefined) c.header('Retry-After', String(error.retryAfter));
    for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
    return c.json(errorBody(error), error.status);
  };
}
