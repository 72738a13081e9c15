/**
 * Serving a Hono app on Node's HTTP server, for the API, its operations
 * endpoint and the worker's, with limits on what one client may hold: a
 * client that sends its headers or body a byte at a time is answered 408 and
 * cut off once the headers or the whole request take longer than allowed,
 * and connections over the cap are closed as they arrive, so the ones
 * already open keep being served.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import type { HttpServerLimits } from '../config.js';

export type { HttpServerLimits };

export interface Listening {
  server: ServerType;
  /** The bound port (the OS picks one when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * For the operations servers (probes and Prometheus): few clients, small
 * requests, on a port clients cannot reach.
 */
export const OPS_SERVER_LIMITS: HttpServerLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
};

/**
 * How often Node looks for requests past their deadline: a request is cut
 * off at most this long after it. Node's default, 30 s, would let a slow
 * client hold a request for twice a 30 s timeout; the check walks only the
 * connections still receiving a request.
 */
function checkingIntervalMs({ headersTimeoutMs, requestTimeoutMs }: HttpServerLimits): number {
  return Math.max(10, Math.min(1_000, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 4)));
}

export async function listen(app: Pick<Hono, 'fetch'>, hostname: string, port: number, limits: HttpServerLimits): Promise<Listening> {
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname,
        port,
        serverOptions: {
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          connectionsCheckingInterval: checkingIntervalMs(limits),
        },
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  server.maxConnections = limits.maxConnections;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
