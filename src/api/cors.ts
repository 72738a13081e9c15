/**
 * CORS for a route that any web page may call: /track, whose write keys are
 * public (they sit in every page's script). Any origin, never credentials
 * (cookies are not how /track authenticates), and preflights cached a day.
 *
 * Not hono/cors: it reads the Origin through the Fetch API and creates a
 * placeholder Response on every request, which on the Node server costs the
 * single-event /track more than its own work (node-bindings.ts). The headers
 * here go straight onto the Node response.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { outgoingOf } from './node-bindings.js';

export interface PublicCorsOptions {
  methods: string[];
  /** Request headers a page may send beyond the CORS-safelisted ones. */
  allowHeaders: string[];
  /** Response headers a page's script may read. */
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

function setHeader(c: Context, name: string, value: string) {
  const outgoing = outgoingOf(c);
  if (outgoing) outgoing.setHeader(name, value);
  else c.header(name, value);
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
