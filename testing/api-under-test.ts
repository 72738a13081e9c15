/** The API app in process, wired to the real services with an isolated config. */
import type { Config } from '../src/config.js';
import { createApp, type ApiDeps } from '../src/api/app.js';
import { createApiServices } from '../src/api/server.js';
import { bootstrapSteps, runSteps } from '../src/bootstrap.js';
import { createLogger } from '../src/logger.js';
import { createRegistry, valueSubject } from '../src/serde/event-schemas.js';

export type InProcessApi = Awaited<ReturnType<typeof inProcessApi>>;

/**
 * `prepare: false` skips the bootstrap (migrations, topics, schemas) for a
 * test that did its own; `deps` replaces some of the services (each built
 * from the real ones, which it receives).
 */
export async function inProcessApi(config: Config, { prepare = true, deps = () => ({}) }: { prepare?: boolean; deps?: (real: ApiDeps) => Partial<ApiDeps> } = {}) {
  const services = createApiServices(config, createLogger('silent', 'test-api'));
  if (prepare) await runSteps(bootstrapSteps(config, services.kafka));
  const used: ApiDeps = { ...services.deps, ...deps(services.deps) };
  return {
    app: createApp(config, used),
    deps: used,
    config,
    topic: config.kafka.eventsTopic,
    subject: valueSubject(config.kafka.eventsTopic),
    registry: createRegistry(config.schemaRegistry.url),
    close: () => services.close(),
  };
}
