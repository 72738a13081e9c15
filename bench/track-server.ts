/**
 * The API as benchmarked: the real app (real Kafka, registry, ClickHouse
 * client) from the environment's config, plus `POST /noop` and
 * `POST /noop-fetch`, Hono routes that read the body and answer 202 without
 * any work (and without the app's middleware), on the same server, so the
 * framework's own cost is measured beside /track in the same run. Served
 * as `api` serves it (src/http/listen.ts, the same limits), with the
 * operations endpoints (/metrics) on API_OPS_PORT.
 */
import { Hono } from 'hono';
import { createApp, createOpsApp } from '../src/api/app.js';
import { readBody } from '../src/api/request-body.js';
import { createApiServices } from '../src/api/server.js';
import { bootstrapSteps, runSteps } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { OPS_SERVER_LIMITS, listen } from '../src/http/listen.js';
import { createLogger } from '../src/logger.js';

const config = loadConfig();
const services = createApiServices(config, createLogger('warn', 'bench-api'));
await runSteps(bootstrapSteps(config, services.kafka));
const app = createApp(config, services.deps);
const noop = new Hono()
  // Two baselines: the body read as /track reads it (src/api/request-body.ts),
  // and as a Hono handler reads it by default (through a Fetch Request).
  .post('/noop', async (c) => {
    await readBody(c, config.api.maxBodyBytes);
    return c.json({ accepted: 1 }, 202);
  })
  .post('/noop-fetch', async (c) => {
    await c.req.arrayBuffer();
    return c.json({ accepted: 1 }, 202);
  });
// Two apps behind one server, so that /track runs through the app exactly as
// `api` serves it: mounted under another Hono, each of the app's routes would
// be wrapped in one more composed handler per request (for its error handler).
const dispatch = (request: Request, env: unknown) => (request.url.includes('/noop') ? noop.fetch(request, env) : app.fetch(request, env));
await listen(createOpsApp(services.deps), config.api.opsHost, config.api.opsPort, OPS_SERVER_LIMITS);
await listen({ fetch: dispatch }, '127.0.0.1', config.api.port, config.api.server);
console.log('bench server ready');
// Exit cleanly on SIGTERM so profilers (--cpu-prof) can write their output.
process.on('SIGTERM', () => process.exit(0));
