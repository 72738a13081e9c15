/**
 * The compiled build, as the container image runs it (`node dist/src/cli.js`,
 * no tsx): it finds schemas/ and migrations/ from dist/, serves the seed's
 * quick start, its OpenAPI document, the docs page and the web UI (built by
 * `npm run build` into dist/ui), and shuts down cleanly. The image
 * itself cannot be built here (no Docker engine); this is what it runs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { initialize } from '../testing/deployment.js';
import { freePort, spawnBuilt, type StreamtrackProcess } from '../testing/processes.js';
import { REPO_ROOT } from '../testing/services.js';
import { isolatedEnv, roleEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';

let api: StreamtrackProcess;
let worker: StreamtrackProcess;
let base: string;

beforeAll(async () => {
  await promisify(execFile)('npm', ['run', 'build'], { cwd: REPO_ROOT });
  const port = await freePort();
  const services = inject('services');
  const env = isolatedEnv(services, { API_PORT: String(port), NODE_ENV: 'production' });
  base = `http://127.0.0.1:${port}`;
  await initialize(services, env);
  api = spawnBuilt('api', roleEnv(services, env, 'api'));
  worker = spawnBuilt('worker', roleEnv(services, env, 'worker'));
  await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: `API ready\n${api.output()}` });
}, 180_000);

afterAll(async () => {
  const codes = await Promise.all([api?.stop(), worker?.stop()]);
  expect(codes, `exit codes of api and worker\n${api?.output()}\n${worker?.output()}`).toEqual([0, 0]);
});

describe('the production build', () => {
  it("runs the seed's quick start: a tracked event is listed by /activities", async () => {
    const response = await fetch(`${base}/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'local_user', action: 'app_started' }),
    });
    expect(response.status).toBe(202);
    const { results } = (await response.json()) as { results: Array<{ event_id: string }> };
    const listed = await waitFor(
      async () => {
        const page = (await (await fetch(`${base}/activities?wait_for=${results[0]!.event_id}&wait_ms=5000`)).json()) as { events: Array<{ event_id: string }> };
        return page.events.length > 0 ? page.events : undefined;
      },
      { timeoutMs: 60_000, what: `the event in /activities\n${worker.output()}` },
    );
    expect(listed.map((e) => e.event_id)).toEqual([results[0]!.event_id]);
  });

  it('serves its OpenAPI document and docs page', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/track');
    expect((await fetch(`${base}/docs`)).status).toBe(200);
    expect((await fetch(`${base}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });

  it('serves the web UI that npm run build built, and every asset its page names', async () => {
    const page = await fetch(`${base}/ui/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/\/ui\/assets\/[\w.-]+/g)].map((m) => m[0]);
    expect(assets.length).toBe(2);
    for (const asset of assets) expect((await fetch(`${base}${asset}`)).status, asset).toBe(200);
  });
});
