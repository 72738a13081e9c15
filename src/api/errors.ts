/**
 * The API's one error shape and the handler that produces it:
 * `{ "error": { "code", "message", "details"? } }`, where details name each
 * offending field and why.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { FieldError } from '../ingestion/validate-event.js';
import type { Logger } from '../logger.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: FieldError[] };
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: FieldError[],
    /** Seconds after which a retry may succeed (sent as Retry-After). */
    readonly retryAfter?: number,
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

export function createErrorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    const error =
      err instanceof ApiError ? err : new ApiError(500, 'internal_error', 'internal error; see the server log');
    // A dependency being down (503) is expected operation, a 500 is a bug.
    if (error.status === 500) logger.error({ err, path: c.req.path }, 'request failed');
    else if (error.status >= 500) logger.warn({ code: error.code, reason: error.message, path: c.req.path }, 'dependency unavailable');
    if (error.retryAfter !== undefined) c.header('Retry-After', String(error.retryAfter));
    return c.json(errorBody(error), error.status);
  };
}
