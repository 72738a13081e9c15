/**
 * Keys mode in process, against the real services: the key store in
 * ClickHouse, the API's key cache, credentials in each place they may go,
 * confinement of writes and reads to the key's project, /admin, and the
 * limits' answers. (Attacks against a whole stack of processes:
 * e2e/auth-attacks.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { waitFor } from '../../testing/wait-for.js';
import { createKeyStore, type KeyStore } from '../auth/key-store.js';
import { createClickHouse, type ClickHouseClient } from '../storage/clickhouse.js';
import type { ErrorBody } from './errors.js';
import type { TrackResponse } from './ingest.js';

const config = isolatedConfig(inject('services'), {
  STREAMTRACK_AUTH: 'keys',
  AUTH_REFRESH_MS: '200',
  API_READ_REQUESTS_PER_SECOND: '1000',
  API_MAX_QUERIES_PER_KEY: '2',
  API_MAX_WAITS_PER_KEY: '1',
});
let api: InProcessApi;
let clickhouse: ClickHouseClient;
let store: KeyStore;
const keys: Record<string, string> = {};

beforeAll(async () => {
  api = await inProcessApi(config);
  clickhouse = createClickHouse(config.clickhouse);
  store = createKeyStore(clickhouse);
  await store.createProject('alpha');
  await store.createProject('beta', { writeEventsPerSecond: 5, readRequestsPerSecond: 3 });
  for (const [name, project, scopes] of [
    ['alphaWrite', 'alpha', ['write']],
    ['alphaRead', 'alpha', ['events:read', 'stats:read']],
    ['alphaAdmin', 'alpha', ['admin']],
    ['betaWrite', 'beta', ['write']],
    ['betaRead', 'beta', ['events:read']],
  ] as const) {
    keys[name] = (await store.createKey(project, [...scopes])).key;
  }
  // Keys made after the API started: seen once its cache reloads.
  await waitFor(async () => ((await track({ user_id: 'warm', action: 'a' }, keys.betaWrite)).status === 202 ? true : undefined), { timeoutMs: 10_000, what: 'keys loaded' });
});
afterAll(async () => {
  await clickhouse?.close();
  await api?.close();
});

function track(body: unknown, key?: string, headers: Record<string, string> = {}) {
  return api.app.request('/track', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
}

const read = (path: string, key?: string, headers: Record<string, string> = {}) =>
  api.app.request(path, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } });

describe('keys mode', () => {
  it('refuses a request without credentials with 401 and a challenge, the same as a made-up key', async () => {
    const none = await track({ user_id: 'u', action: 'a' });
    const madeUp = await track({ user_id: 'u', action: 'a' }, `st_wk_${'0'.repeat(16)}_${'0'.repeat(40)}`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(await none.text()).toBe(await madeUp.text());
  });

  it("writes an event into the key's project, by bearer and by HTTP Basic", async () => {
    const bearer = await track({ user_id: 'u1', action: 'signup' }, keys.alphaWrite);
    expect(bearer.status).toBe(202);
    const basic = await track({ user_id: 'u1', action: 'login' }, undefined, { authorization: `Basic ${Buffer.from(`${keys.alphaWrite}:`).toString('base64')}` });
    expect(basic.status).toBe(202);
    const named = await track({ user_id: 'u1', action: 'named', project_id: 'alpha' }, keys.alphaWrite);
    expect(named.status).toBe(202);
  });

  it('takes a write key in the body, as navigator.sendBeacon sends it, and refuses a bad one alike', async () => {
    const beacon = (body: unknown) => api.app.request('/track', { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(body) });
    expect((await beacon({ user_id: 'b1', action: 'page_hidden', write_key: keys.alphaWrite })).status).toBe(202);
    expect((await beacon({ batch: [{ user_id: 'b1', action: 'a' }], write_key: keys.alphaWrite })).status).toBe(202);
    const wrong = await beacon({ user_id: 'b1', action: 'x', write_key: keys.alphaRead });
    expect(wrong.status).toBe(403);
    const bad = await beacon({ user_id: 'b1', action: 'x', write_key: 'st_wk_nonsense' });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toBe(await (await track({ user_id: 'u', action: 'a' })).text());
  });

  it('refuses an event naming another project with 403, publishing nothing of the request', async () => {
    const response = await track([{ user_id: 'u2', action: 'ok' }, { user_id: 'u2', action: 'x', project_id: 'beta' }], keys.alphaWrite);
    expect(response.status).toBe(403);
    expect(((await response.json()) as ErrorBody).error.code).toBe('forbidden');
  });

  it('refuses a read key on /track and a write key on the read routes with 403', async () => {
    expect((await track({ user_id: 'u', action: 'a' }, keys.alphaRead)).status).toBe(403);
    expect((await read('/activities', keys.alphaWrite)).status).toBe(403);
    expect((await read('/stats/overview?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', keys.betaRead)).status).toBe(403);
  });

  it("confines reads to the key's project", async () => {
    expect((await read('/activities?project_id=beta', keys.alphaRead)).status).toBe(403);
    expect((await read('/stats/users/u1?project_id=beta&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', keys.alphaRead)).status).toBe(403);
    expect((await read('/activities?project_id=alpha', keys.alphaRead)).status).toBe(200);
  });

  it('manages keys under /admin, confined to the project, and a revoked key stops working', async () => {
    const created = await api.app.request('/admin/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.alphaAdmin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['write'], name: 'web' }),
    });
    expect(created.status).toBe(201);
    const { key, key_id: keyId } = (await created.json()) as { key: string; key_id: string };
    expect((await track({ user_id: 'u3', action: 'a' }, key)).status).toBe(202);

    const listed = (await (await read('/admin/keys', keys.alphaAdmin)).json()) as { keys: Array<{ key_id: string; key?: string }> };
    expect(listed.keys.map((k) => k.key_id)).toContain(keyId);
    expect(JSON.stringify(listed)).not.toContain(key);

    const betaKeys = await store.keys('beta');
    const foreign = await api.app.request(`/admin/keys/${betaKeys[0]!.keyId}`, { method: 'DELETE', headers: { authorization: `Bearer ${keys.alphaAdmin}` } });
    expect(foreign.status).toBe(404);
    expect((await read('/admin/keys', keys.alphaRead)).status).toBe(403);

    const revoked = await api.app.request(`/admin/keys/${keyId}`, { method: 'DELETE', headers: { authorization: `Bearer ${keys.alphaAdmin}` } });
    expect(revoked.status).toBe(204);
    expect((await track({ user_id: 'u3', action: 'a' }, key)).status).toBe(401);
  });

  it('answers 429 over the limit with Retry-After and the IETF fields, and takes the events again after the wait', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 4 && !limited; i++) {
      const response = await track([{ user_id: 'r', action: 'a' }, { user_id: 'r', action: 'b' }], keys.betaWrite);
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(limited, `statuses ${statuses.join(',')}`).toBeDefined();
    expect(limited!.headers.get('ratelimit-policy')).toBe('"write";q=5;w=1');
    expect(limited!.headers.get('ratelimit')).toMatch(/^"write";r=\d+;t=\d+$/);
    const wait = Number(limited!.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    const again = await track({ user_id: 'r', action: 'c' }, keys.betaWrite);
    expect(again.status).toBe(202);
    expect(((await again.json()) as TrackResponse).accepted).toBe(1);
  });

  it('caps the long-polls and the read requests one key holds at once, leaving other keys alone', async () => {
    const never = '00000000-0000-4000-8000-000000000000';
    const holding = read(`/activities?wait_for=${never}&wait_ms=3000`, keys.alphaRead);
    await waitFor(async () => {
      const second = await read(`/activities?wait_for=${never}&wait_ms=10`, keys.alphaRead);
      return second.status === 429 ? second : undefined;
    }, { timeoutMs: 2_000, what: 'a second wait refused' }).then(async (second) => {
      expect(((await second.json()) as ErrorBody).error.code).toBe('too_many_waits');
      expect(second.headers.get('retry-after')).toBe('1');
    });
    expect((await read(`/activities?wait_for=${never}&wait_ms=10`, keys.betaRead)).status).toBe(200);
    const slow = read(`/stats/users/u1/sessions?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z`, keys.alphaRead);
    const over = await Promise.all([read('/activities?limit=1', keys.alphaRead), read('/activities?limit=1', keys.alphaRead)]);
    const codes = await Promise.all(over.filter((r) => r.status === 429).map(async (r) => ((await r.json()) as ErrorBody).error.code));
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.every((code) => code === 'too_many_queries')).toBe(true);
    expect((await holding).status).toBe(200);
    await slow;
    expect((await read('/activities?limit=1', keys.alphaRead)).status).toBe(200);
  });

  it("answers CORS on the read routes for the project's origins only", async () => {
    await store.updateProject('alpha', { allowedOrigins: ['https://app.example'] });
    await waitFor(
      async () => ((await read('/activities?limit=1', keys.alphaRead, { origin: 'https://app.example' })).headers.get('access-control-allow-origin') === 'https://app.example' ? true : undefined),
      { timeoutMs: 10_000, what: 'allowed origin' },
    );
    const other = await read('/activities?limit=1', keys.alphaRead, { origin: 'https://evil.example' });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await api.app.request('/activities', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(204);
  });
});
