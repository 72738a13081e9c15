/**
 * The Node request and response behind a Hono context, when the app is
 * served by @hono/node-server; absent in process (`app.request` in tests).
 *
 * The hot path reads and writes them directly. Through the Fetch API,
 * @hono/node-server builds an undici Headers object from the whole request
 * on the first `c.req.header()` (webidl checks on every header), and a
 * Request with a ReadableStream for the body: per single-event /track, more
 * CPU than our own parsing and validation (bench:track, CPU profile).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

export function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming;
}

export function outgoingOf(c: Context): ServerResponse | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.outgoing;
}

/** A request header, as Node's http module folds repeated ones. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Sets a response header on the Node response when there is one (cheaper than Hono's Headers object), else through Hono. */
export function setResponseHeader(c: Context, name: string, value: string): void {
  const outgoing = outgoingOf(c);
  if (outgoing) outgoing.setHeader(name, value);
  else c.header(name, value);
}
