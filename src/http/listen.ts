/** Serving a Hono app on Node's HTTP server, for the API and the worker's health/metrics endpoint. */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';

export interface Listening {
  server: ServerType;
  /** The bound port (the OS picks one when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

export async function listen(app: Pick<Hono, 'fetch'>, hostname: string, port: number): Promise<Listening> {
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname, port }, () => resolve(s));
    s.once('error', reject);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
