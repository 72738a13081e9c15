/**
 * CORS. For a route that any web page may call: /track, whose write keys are
 * public (they sit in every page's script). Any origin, never credentials
 * (cookies are not how /track authenticates), and preflights cached a day.
 * For the read routes, the preflight only: their answers name the origins
 * the key's project allows (access.ts).
 *
 * Not hono/cors: it reads the Origin through the Fetch API and creates a
 * placeholder Response on every request, which on the Node server costs the
 * single-event /track more than its own work (node-bindings.ts). The headers
 * here go straight onto the Node response.
 */
import type { MiddlewareHandler } from 'hono';
import { requestHeader, setResponseHeader as setHeader } from './node-bindings.js';

export interface PublicCorsOptions {
  methods: string[];
  /** Request headers a page may send beyond the CORS-safelisted ones. */
  allowHeaders: string[];
  /** Response headers a page's script may read. */
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

export function publicCors(options: PublicCorsOptions): MiddlewareHandler {
  const methods = options.methods.join(', ');
  const allowHeaders = options.allowHeaders.join(', ');
  const exposeHeaders = options.exposeHeaders.join(', ');
  const maxAge = String(options.maxAgeSeconds);
  return async (c, next) => {
    setHeader(c, 'Access-Control-Allow-Origin', '*');
    if (c.req.method === 'OPTIONS') {
      // A preflight: what the page may send, cached by the browser for maxAge.
      setHeader(c, 'Access-Control-Allow-Methods', methods);
      setHeader(c, 'Access-Control-Allow-Headers', allowHeaders);
      setHeader(c, 'Access-Control-Max-Age', maxAge);
      return c.body(null, 204);
    }
    setHeader(c, 'Access-Control-Expose-Headers', exposeHeaders);
    await next();
  };
}

/**
 * Browsers ask before sending an Authorization header across origins. The
 * preflight of a read route is answered for any origin: the real answer
 * carries Access-Control-Allow-Origin only for the project's allowed
 * origins, which is what decides whether the page may read it.
 */
export const readPreflight: MiddlewareHandler = async (c, next) => {
  const origin = requestHeader(c, 'origin');
  if (c.req.method !== 'OPTIONS' || origin === undefined || requestHeader(c, 'access-control-request-method') === undefined) return next();
  return c.body(null, 204, {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, POST, DELETE',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-None-Match, X-Request-Id',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
  });
};
