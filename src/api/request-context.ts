/**
 * Around every request: a request id (the client's X-Request-Id if it sent a
 * sane one, else a new UUID; echoed back), its metrics by route pattern, and
 * one structured log line carrying the id. Successful requests log at debug
 * (at 50k events/s an info line per request would cost more than the
 * request), client errors at info; server errors are logged by the error
 * handler with the same id.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import { routePath } from 'hono/route';
import type { Logger } from '../logger.js';
import { secondsSince, type ApiMetrics } from '../observability/metrics.js';
import { outgoingOf, requestHeader } from './node-bindings.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';
const SANE_REQUEST_ID = /^[\w\-=]{1,128}$/;

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
  // The metrics of each method, route and status, looked up once: prom-client
  // hashes a label object on every call, and this runs for every request.
  const children = new Map<string, { requests: { inc(): void }; duration: { observe(seconds: number): void } }>();
  const childrenFor = (labels: { method: string; route: string; status: string }) => {
    const key = `${labels.method} ${labels.route} ${labels.status}`;
    let child = children.get(key);
    if (!child) {
      child = { requests: metrics.httpRequests.labels(labels), duration: metrics.httpDuration.labels(labels) };
      children.set(key, child);
    }
    return child;
  };
  return async (c, next) => {
    const started = performance.now();
    const sent = requestHeader(c, REQUEST_ID_HEADER);
    const id = sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
    c.set('requestId', id);
    const outgoing = outgoingOf(c);
    if (outgoing) outgoing.setHeader(REQUEST_ID_HEADER, id);
    else c.header(REQUEST_ID_HEADER, id);
    await next();
    const seconds = secondsSince(started);
    // The matched route's pattern (`/stats/users/:user_id`), never the raw path: bounded label values.
    // Only this middleware's own `/*` matched: no route did.
    const matched = routePath(c, -1);
    const route = matched === '/*' ? 'unmatched' : matched;
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    const child = childrenFor(labels);
    child.requests.inc();
    child.duration.observe(seconds);
    const refused = c.res.status >= 400 && c.res.status < 500;
    // The entry is built only when it will be written: at the default level, successful requests are not.
    if (!refused && !logger.isLevelEnabled('debug')) return;
    const entry = { request_id: id, ...labels, path: c.req.path, ms: Math.round(seconds * 1000) };
    if (refused) logger.info(entry, 'request refused');
    else logger.debug(entry, 'request');
  };
}
