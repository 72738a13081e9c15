/**
 * The Schema Registry going away: a running API keeps accepting events with
 * the schemas it has cached; an API started while the registry is down
 * answers 503 with Retry-After, not 500. Runs against a registry of its own,
 * started natively, which it stops.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../testing/api-under-test.js';
import { canRunPrivate, privateService, type PrivateService } from '../testing/private-service.js';
import { isolatedConfig } from '../testing/test-config.js';

describe.runIf(canRunPrivate('schema-registry'))('Schema Registry outage', () => {
  let registry: PrivateService;
  let running: InProcessApi;
  let restarted: InProcessApi | undefined;
  let config: ReturnType<typeof isolatedConfig>;

  beforeAll(async () => {
    registry = await privateService('schema-registry');
    await registry.start();
    config = isolatedConfig(inject('services'), { SCHEMA_REGISTRY_URL: registry.address, SCHEMA_REFRESH_MS: '100' });
    running = await inProcessApi(config);
  });
  afterAll(async () => {
    await Promise.all([running?.close(), restarted?.close()]);
    await registry?.remove();
  });

  const track = (api: InProcessApi, action: string) =>
    api.app.request('/track', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'registry_outage', action }),
    });

  it('keeps accepting with cached schemas; a fresh start without the registry answers 503', async () => {
    expect((await track(running, 'before')).status).toBe(202);
    await registry.stop();

    // Several refresh intervals pass with the registry down: the cached latest schema stays in use.
    for (let i = 0; i < 5; i++) {
      const during = await track(running, `during_${i}`);
      expect(during.status).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    restarted = await inProcessApi(config, { prepare: false });
    const fresh = await track(restarted, 'after_restart');
    expect(fresh.status).toBe(503);
    expect(fresh.headers.get('retry-after')).toBe('5');
    expect(await fresh.json()).toMatchObject({ error: { code: 'schema_registry_unavailable' } });
  });
});
