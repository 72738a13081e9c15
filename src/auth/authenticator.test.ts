import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { newKey } from './api-key.js';
import { createAuthenticator, credentialFromHeader, type Credential } from './authenticator.js';
import type { KeyCache, KeySnapshot } from './key-cache.js';
import { DEFAULT_PROJECT_SETTINGS, type Project, type StoredKey } from './key-store.js';

const SECRET = 'an HS256 secret of the project, 32+ bytes long';
const DEFAULTS = { writeEventsPerSecond: 1_000, readRequestsPerSecond: 20 };

function project(projectId: string, settings: Partial<Project> = {}): Project {
  return { projectId, createdAt: 0, ...DEFAULT_PROJECT_SETTINGS, ...settings };
}

/** A key cache over a fixed snapshot: the authenticator reads nothing else. */
function cacheOf(snapshot: KeySnapshot | undefined): KeyCache {
  return { current: () => snapshot, loaded: async () => snapshot, refresh: async () => {}, close: () => {} };
}

function fixture() {
  const made = newKey(['events:read']);
  const stored: StoredKey = { keyId: made.keyId, projectId: 'a', name: '', scopes: ['events:read'], secretSha256: made.secretSha256, createdAt: 0, revokedAt: null };
  const snapshot: KeySnapshot = {
    keys: new Map([[stored.keyId, stored]]),
    projects: new Map([
      ['a', project('a', { jwtHs256Secret: SECRET, readRequestsPerSecond: 5 })],
      ['j', project('j', { jwtJwksUrl: 'http://127.0.0.1:1/jwks.json', jwtIssuer: 'https://issuer.example' })],
    ]),
    loadedAt: 0,
  };
  return { key: made.key, authenticator: createAuthenticator(cacheOf(snapshot), DEFAULTS) };
}

const hs256 = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
const jwt = (token: string): Credential => ({ kind: 'jwt', token });
const now = () => Math.floor(Date.now() / 1000);

describe('credentials from the Authorization header', () => {
  it('take a bearer key or token, and a key as HTTP Basic user name or password', () => {
    expect(credentialFromHeader('Bearer st_sk_x')).toEqual({ kind: 'key', key: 'st_sk_x' });
    expect(credentialFromHeader('bearer a.b.c')).toEqual({ kind: 'jwt', token: 'a.b.c' });
    expect(credentialFromHeader(`Basic ${Buffer.from('st_wk_k:').toString('base64')}`)).toEqual({ kind: 'key', key: 'st_wk_k' });
    expect(credentialFromHeader(`Basic ${Buffer.from(':st_wk_k').toString('base64')}`)).toEqual({ kind: 'key', key: 'st_wk_k' });
    expect(credentialFromHeader('Digest x')).toBeUndefined();
    expect(credentialFromHeader('Bearer')).toBeUndefined();
  });
});

describe('authenticator', () => {
  it("gives a key its project, scopes and the project's limits", async () => {
    const { key, authenticator } = fixture();
    const outcome = await authenticator.authenticate({ kind: 'key', key });
    expect(outcome.ok && outcome.principal).toMatchObject({ projectId: 'a', limits: { writeEventsPerSecond: 1_000, readRequestsPerSecond: 5 } });
  });

  it('refuses a wrong secret, an unknown key and no key alike', async () => {
    const { key, authenticator } = fixture();
    const wrong = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
    for (const credential of [{ kind: 'key', key: wrong }, { kind: 'key', key: newKey(['write']).key }, undefined] as const) {
      expect(await authenticator.authenticate(credential)).toMatchObject({ ok: false, failure: 'unauthenticated' });
    }
  });

  it('refuses a key it verified before once a reload no longer has it (revoked)', async () => {
    const made = newKey(['write']);
    const stored: StoredKey = { keyId: made.keyId, projectId: 'a', name: '', scopes: ['write'], secretSha256: made.secretSha256, createdAt: 0, revokedAt: null };
    let snapshot: KeySnapshot = { keys: new Map([[made.keyId, stored]]), projects: new Map([['a', project('a')]]), loadedAt: 0 };
    const authenticator = createAuthenticator({ ...cacheOf(undefined), current: () => snapshot }, DEFAULTS);
    expect((await authenticator.authenticate({ kind: 'key', key: made.key })).ok).toBe(true);
    expect((await authenticator.authenticate({ kind: 'key', key: made.key })).ok).toBe(true);
    snapshot = { ...snapshot, keys: new Map(), loadedAt: 1 };
    expect(await authenticator.authenticate({ kind: 'key', key: made.key })).toMatchObject({ ok: false, failure: 'unauthenticated' });
  });

  it('says unavailable, not unauthenticated, before the keys are loaded', async () => {
    const authenticator = createAuthenticator(cacheOf(undefined), DEFAULTS);
    expect(await authenticator.authenticate({ kind: 'key', key: 'x' })).toMatchObject({ ok: false, failure: 'unavailable' });
  });

  it('takes an HS256 token of the project, with its scopes and user', async () => {
    const { authenticator } = fixture();
    const token = await hs256({ project_id: 'a', scope: 'events:read stats:read bogus', user_id: 'u1', aud: 'streamtrack', exp: now() + 60 });
    const outcome = await authenticator.authenticate(jwt(token));
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect([...outcome.principal.scopes]).toEqual(['events:read', 'stats:read']);
      expect(outcome.principal.userId).toBe('u1');
      expect(outcome.principal.projectId).toBe('a');
    }
  });

  it.each([
    ['no exp', { project_id: 'a', aud: 'streamtrack' }],
    ['expired', { project_id: 'a', aud: 'streamtrack', exp: now() - 60 }],
    ['not yet valid', { project_id: 'a', aud: 'streamtrack', exp: now() + 600, nbf: now() + 300 }],
    ['wrong audience', { project_id: 'a', aud: 'elsewhere', exp: now() + 60 }],
    ['unknown project', { project_id: 'zz', aud: 'streamtrack', exp: now() + 60 }],
    ['a JWKS project (no HS256 accepted)', { project_id: 'j', aud: 'streamtrack', iss: 'https://issuer.example', exp: now() + 60 }],
    ['empty user_id', { project_id: 'a', aud: 'streamtrack', exp: now() + 60, user_id: '' }],
  ])('refuses an HS256 token with %s', async (_, claims) => {
    const { authenticator } = fixture();
    expect(await authenticator.authenticate(jwt(await hs256(claims)))).toMatchObject({ ok: false, failure: 'unauthenticated' });
  });

  it('refuses a token signed with another secret, and alg none', async () => {
    const { authenticator } = fixture();
    const claims = { project_id: 'a', aud: 'streamtrack', exp: now() + 60 };
    expect((await authenticator.authenticate(jwt(await hs256(claims, 'another secret of 32 bytes or more....')))).ok).toBe(false);
    expect((await authenticator.authenticate(jwt(new UnsecuredJWT(claims).encode()))).ok).toBe(false);
  });
});
