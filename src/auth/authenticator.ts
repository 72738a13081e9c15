/**
 * Credentials to a Principal, as an outcome value. Two kinds:
 *
 * - API keys (`st_wk_…`, `st_sk_…`): found by key id in the key cache, the
 *   secret checked against its stored SHA-256 in constant time.
 * - JWTs, as an OAuth2 resource server would take them, verified with `jose`
 *   against an explicit algorithm list chosen by the project, never by the
 *   token: HS256 with the project's secret, or RS256/ES256 with the keys of
 *   the project's JWKS URL (then its issuer is required). `exp` is required,
 *   `aud` must be the project's audience (`streamtrack` unless set), and
 *   `alg: none`, an HS256 token for a JWKS project (algorithm confusion),
 *   expired, not-yet-valid and wrongly addressed tokens are refused.
 *   Claims: `project_id`, `scope` (space-separated, as RFC 9068), and
 *   optionally `user_id`, which confines the token to that user.
 *
 * Every refusal is the same 401 to the client: the reason is for the log, so
 * an answer never tells whether a key or project exists.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { isScope, parseKey, secretMatches, type Scope } from './api-key.js';
import type { KeyCache, KeySnapshot } from './key-cache.js';
import type { Project } from './key-store.js';
import type { Principal } from './principal.js';

export type Credential = { kind: 'key'; key: string } | { kind: 'jwt'; token: string };

export type AuthOutcome =
  | { ok: true; principal: Principal }
  /** `unauthenticated`: bad or no credentials (401). `unavailable`: keys not loaded yet (503). */
  | { ok: false; failure: 'unauthenticated' | 'unavailable'; reason: string };

export interface DefaultLimits {
  writeEventsPerSecond: number;
  readRequestsPerSecond: number;
}

export const DEFAULT_JWT_AUDIENCE = 'streamtrack';
const JWT_ALGORITHMS = { hs256: ['HS256'], jwks: ['RS256', 'ES256'] } as const;
const CLOCK_TOLERANCE_S = 5;
/** How long a request waits for the first key snapshot after the process starts. */
const FIRST_LOAD_WAIT_MS = 3_000;

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** `Bearer <key or JWT>`, or HTTP Basic with the key as the user name (Segment's and RudderStack's libraries) or the password. */
export function credentialFromHeader(authorization: string | undefined): Credential | undefined {
  if (!authorization) return undefined;
  const space = authorization.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === 'bearer') return JWT_SHAPE.test(value) ? { kind: 'jwt', token: value } : { kind: 'key', key: value };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    return { kind: 'key', key: user || password };
  }
  return undefined;
}

function limitsOf(project: Project | undefined, defaults: DefaultLimits): Principal['limits'] {
  return {
    writeEventsPerSecond: project?.writeEventsPerSecond || defaults.writeEventsPerSecond,
    readRequestsPerSecond: project?.readRequestsPerSecond || defaults.readRequestsPerSecond,
  };
}

const refused = (reason: string): AuthOutcome => ({ ok: false, failure: 'unauthenticated', reason });

export function createAuthenticator(cache: KeyCache, defaults: DefaultLimits) {
  // Keys already verified against the current snapshot, with their principal: a client sends the
  // same key on every request, and hashing its secret each time was a tenth of a /track request's
  // CPU (bench:track profile). Only keys that verified get in, so made-up keys cannot fill it; it
  // is emptied whenever the snapshot changes, so a revocation or a new limit applies at the next
  // reload, as without it.
  let verified = new Map<string, Principal>();
  let verifiedFor: KeySnapshot | undefined;

  const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const jwksFor = (url: string) => {
    let jwks = jwksByUrl.get(url);
    if (!jwks) {
      jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 2_000, cooldownDuration: 30_000 });
      jwksByUrl.set(url, jwks);
    }
    return jwks;
  };

  function byKey(text: string, snapshot: KeySnapshot): AuthOutcome {
    if (verifiedFor !== snapshot) {
      verified = new Map();
      verifiedFor = snapshot;
    }
    const known = verified.get(text);
    if (known) return { ok: true, principal: known };
    const outcome = verifyKey(text, snapshot);
    if (outcome.ok) verified.set(text, outcome.principal);
    return outcome;
  }

  function verifyKey(text: string, snapshot: KeySnapshot): AuthOutcome {
    const parsed = parseKey(text);
    if (!parsed) return refused('not a key');
    const key = snapshot.keys.get(parsed.keyId);
    if (!key || !secretMatches(parsed.secret, key.secretSha256)) return refused('unknown, revoked or wrong key');
    const project = snapshot.projects.get(key.projectId);
    return {
      ok: true,
      principal: {
        projectId: key.projectId,
        scopes: new Set(key.scopes),
        subject: `key:${key.keyId}`,
        limits: limitsOf(project, defaults),
        allowedOrigins: project?.allowedOrigins ?? [],
      },
    };
  }

  async function byToken(token: string, snapshot: KeySnapshot): Promise<AuthOutcome> {
    let claimed: JWTPayload;
    try {
      claimed = decodeJwt(token);
    } catch {
      return refused('malformed token');
    }
    // The claimed project only picks the verification key and algorithms; the token must then verify with them.
    const project = typeof claimed.project_id === 'string' ? snapshot.projects.get(claimed.project_id) : undefined;
    if (!project) return refused('token for no known project');
    let payload: JWTPayload;
    try {
      const options = {
        audience: project.jwtAudience || DEFAULT_JWT_AUDIENCE,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      };
      if (project.jwtJwksUrl) {
        if (!project.jwtIssuer) return refused('project has a JWKS URL but no issuer');
        ({ payload } = await jwtVerify(token, jwksFor(project.jwtJwksUrl), {
          ...options,
          issuer: project.jwtIssuer,
          algorithms: [...JWT_ALGORITHMS.jwks],
        }));
      } else if (project.jwtHs256Secret) {
        ({ payload } = await jwtVerify(token, new TextEncoder().encode(project.jwtHs256Secret), {
          ...options,
          ...(project.jwtIssuer ? { issuer: project.jwtIssuer } : {}),
          algorithms: [...JWT_ALGORITHMS.hs256],
        }));
      } else {
        return refused('project takes no tokens');
      }
    } catch (error) {
      return refused(`token refused: ${(error as Error).message}`);
    }
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(isScope) : [];
    const userId = payload.user_id;
    if (userId !== undefined && (typeof userId !== 'string' || userId === '')) return refused('user_id claim is not a string');
    return {
      ok: true,
      principal: {
        projectId: project.projectId,
        scopes: new Set<Scope>(scopes),
        subject: `jwt:${project.projectId}:${payload.sub ?? userId ?? ''}`,
        ...(userId === undefined ? {} : { userId }),
        limits: limitsOf(project, defaults),
        allowedOrigins: project.allowedOrigins,
      },
    };
  }

  return {
    async authenticate(credential: Credential | undefined): Promise<AuthOutcome> {
      if (!credential) return refused('no credentials');
      const snapshot = cache.current() ?? (await cache.loaded(FIRST_LOAD_WAIT_MS));
      if (!snapshot) return { ok: false, failure: 'unavailable', reason: 'API keys not loaded yet' };
      return credential.kind === 'key' ? byKey(credential.key, snapshot) : byToken(credential.token, snapshot);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
