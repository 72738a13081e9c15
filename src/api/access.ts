/**
 * The API's access control in HTTP terms: credentials from the request (an
 * Authorization header, or for POST /track a `write_key` in the body), the
 * scope each route needs, the project every read is confined to, rate limits
 * with their IETF header fields, and CORS for the read routes by the
 * project's allowed origins. In open mode (STREAMTRACK_AUTH=open) every
 * request acts as OPEN_PRINCIPAL: any project, no limits.
 *
 * 401 never says why (no key, unknown key, revoked, bad signature all read
 * the same); 403 means valid credentials without the right scope or project.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { allows, type Scope } from '../auth/api-key.js';
import { credentialFromHeader, type Authenticator, type Credential } from '../auth/authenticator.js';
import { OPEN_PRINCIPAL, type Principal } from '../auth/principal.js';
import { rateLimitHeaders, type LimitName, type RateLimiter } from '../auth/rate-limit.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import { ApiError } from './errors.js';
import { requestHeader, setResponseHeader } from './node-bindings.js';

export interface PrincipalVariables {
  principal: Principal;
}

const CHALLENGE = 'Bearer realm="streamtrack", Basic realm="streamtrack"';
const EXPOSED_HEADERS = 'RateLimit, RateLimit-Policy, Retry-After, ETag, X-Request-Id';

function unauthorized(): ApiError {
  return new ApiError(401, 'unauthorized', 'missing or invalid credentials', undefined, undefined, { 'WWW-Authenticate': CHALLENGE });
}

export function forbidden(message: string): ApiError {
  return new ApiError(403, 'forbidden', message);
}

function setHeaders(c: Context, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(headers)) setResponseHeader(c, name, value);
}

export type AccessSettings =
  | { mode: 'open' }
  /** `queriesPerKey`: read requests of one key or token in flight at once (429 `too_many_queries` beyond). */
  | { mode: 'keys'; authenticator: Authenticator; limiter: RateLimiter; queriesPerKey: ConcurrencyLimit };

export function createAccessControl(settings: AccessSettings) {
  async function principalFor(credential: Credential | undefined): Promise<Principal> {
    if (settings.mode === 'open') return OPEN_PRINCIPAL;
    const outcome = await settings.authenticator.authenticate(credential);
    if (outcome.ok) return outcome.principal;
    if (outcome.failure === 'unavailable') throw new ApiError(503, 'auth_unavailable', 'API keys are not loaded yet; retry shortly', undefined, 1);
    throw unauthorized();
  }

  function require(principal: Principal, scope: Scope) {
    if (!allows(principal.scopes, scope)) throw forbidden(`this key or token lacks the ${scope} scope`);
  }

  /** Counts a request against the principal's limit; over it, 429 with the IETF fields and Retry-After. */
  function limit(c: Context, principal: Principal, name: LimitName, cost: number) {
    if (settings.mode === 'open') return;
    const perSecond = name === 'write' ? principal.limits.writeEventsPerSecond : principal.limits.readRequestsPerSecond;
    const decision = settings.limiter.take(principal.subject, name, perSecond, cost);
    const headers = rateLimitHeaders(decision);
    if (!decision.allowed) {
      const what = name === 'write' ? `${perSecond} events/s` : `${perSecond} requests/s`;
      throw new ApiError(429, 'rate_limited', `over this key's limit of ${what}; retry after ${decision.retryAfterSeconds} s`, undefined, decision.retryAfterSeconds, headers);
    }
    setHeaders(c, headers);
  }

  /** The read routes' CORS: the project's allowed origins may read the answer. */
  function allowOrigin(c: Context, principal: Principal) {
    const origin = requestHeader(c, 'origin');
    if (origin === undefined) return;
    if (!principal.allowedOrigins.includes('*') && !principal.allowedOrigins.includes(origin)) return;
    setHeaders(c, { 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': EXPOSED_HEADERS });
  }

  return {
    /** Read routes: a credential with `scope` in the Authorization header, one read off the limit. */
    reads(scope: Scope): MiddlewareHandler<{ Variables: PrincipalVariables }> {
      return async (c, next) => {
        const principal = await principalFor(credentialFromHeader(requestHeader(c, 'authorization')));
        allowOrigin(c, principal);
        require(principal, scope);
        limit(c, principal, 'read', 1);
        c.set('principal', principal);
        if (settings.mode === 'open') return next();
        const release = settings.queriesPerKey.tryAcquire(principal.subject);
        if (!release) throw new ApiError(429, 'too_many_queries', `this key has ${settings.queriesPerKey.max} requests in flight; retry when one is answered`, undefined, 1);
        try {
          await next();
        } finally {
          release();
        }
      };
    },

    /**
     * POST /track, in two steps so a request with bad header credentials is
     * refused before its body is read: `fromHeader` (undefined when the
     * header has none), then `forEvents` once the body is parsed.
     */
    async fromHeader(c: Context): Promise<Principal | undefined> {
      const credential = credentialFromHeader(requestHeader(c, 'authorization'));
      return credential || settings.mode === 'open' ? principalFor(credential) : undefined;
    },

    /** The writer of `events` events: the header's principal, else the body's `write_key`'s; scope and limit checked. */
    async forEvents(c: Context, fromHeader: Principal | undefined, bodyWriteKey: string | undefined, events: number): Promise<Principal> {
      const principal = fromHeader ?? (await principalFor(bodyWriteKey === undefined ? undefined : { kind: 'key', key: bodyWriteKey }));
      require(principal, 'write');
      limit(c, principal, 'write', events);
      return principal;
    },
  };
}

export type AccessControl = ReturnType<typeof createAccessControl>;

/**
 * The project a read is confined to: the principal's. A `project_id`
 * parameter naming another project is refused (403); in open mode the
 * parameter is taken as given.
 */
export function readProject(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.projectId === undefined) return requested;
  if (requested !== undefined && requested !== principal.projectId) throw forbidden(`this key or token reads project "${principal.projectId}" only`);
  return principal.projectId;
}

/** The users a read is confined to: a token's user, or what was asked. */
export function readUsers(principal: Principal, requested: string[]): string[] {
  if (principal.userId === undefined) return requested;
  if (requested.some((u) => u !== principal.userId)) throw forbidden('this token reads its own user only');
  return [principal.userId];
}

/**
 * Reading a user's linked ids' events: not for a token confined to a user.
 * Links are asserted by clients with the project's public write key, so a
 * confined user could link another's anonymous id to itself and read it.
 */
export function readLinked(principal: Principal): void {
  if (principal.userId !== undefined) throw forbidden('a token confined to a user reads its own id only, without linked ids');
}
