/**
 * Around every request: a request id (the client's X-Request-Id if it sent a
 * sane one, else a new one; echoed back), its metrics by route pattern, and
 * one structured log line carrying the id. Successful requests log at debug
 * (at 50k events/s an info line per request would cost more than the
 * request), client errors at info; server errors are logged by the error
 * handler with the same id.
 */
import { randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import { routePath } from 'hono/route';
import type { Logger } from '../logger.js';
import { secondsSince, type ApiMetrics } from '../observability/metrics.js';
import { requestHeader, setResponseHeader } from './node-bindings.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';
const SANE_REQUEST_ID = /^[\w\-=]{1,128}$/;

/**
 * A new request id: this process's random prefix and a count. Unique across
 * processes as a UUID would be (64 random bits per process), without drawing
 * randomness per request: randomUUID was 0.8 us of a single-event /track
 * (bench:track profile), for an id that only has to tell requests apart.
 */
function requestIdSource(): () => string {
  const prefix = randomBytes(8).toString('hex');
  let count = 0;
  return () => `${prefix}-${(++count).toString(36)}`;
}

/**
 * One middleware rather than two (a request id, then metrics and log): Hono
 * composes every middleware with a promise and a closure per request.
 *
 * The id is Hono's requestId middleware's, but written straight onto the
 * Node response, whose head merges it in. Set through Hono (`c.header`), it
 * makes every response carry a Fetch Headers object: about 3% of a
 * single-event /track's CPU (bench:track profile). In process
 * (`app.request`) there is no Node response.
 */
export function requestContext(metrics: ApiMetrics, logger: Logger): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  // The histogram of each method, route and status, looked up once: prom-client's
  // labels() checks the label object and builds closures on every call.
  const children = new Map<string, { observe(seconds: number): void }>();
  const childFor = (labels: { method: string; route: string; status: string }) => {
    const key = `${labels.method} ${labels.route} ${labels.status}`;
    let child = children.get(key);
    if (!child) {
      child = metrics.httpDuration.labels(labels);
      children.set(key, child);
    }
    return child;
  };
  const newRequestId = requestIdSource();
  return async (c, next) => {
    const started = performance.now();
    const sent = requestHeader(c, REQUEST_ID_HEADER);
    const id = sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : newRequestId();
    c.set('requestId', id);
    setResponseHeader(c, REQUEST_ID_HEADER, id);
    await next();
    const seconds = secondsSince(started);
    // The matched route's pattern (`/stats/users/:user_id`), never the raw path: bounded label values.
    // Only this middleware's own `/*` matched: no route did.
    const matched = routePath(c, -1);
    const route = matched === '/*' ? 'unmatched' : matched;
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    childFor(labels).observe(seconds);
    const refused = c.res.status >= 400 && c.res.status < 500;
    // The entry is built only when it will be written: at the default level, successful requests are not.
    if (!refused && !logger.isLevelEnabled('debug')) return;
    const entry = { request_id: id, ...labels, path: c.req.path, ms: Math.round(seconds * 1000) };
    if (refused) logger.info(entry, 'request refused');
    else logger.debug(entry, 'request');
  };
}
