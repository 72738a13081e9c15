/**
 * Who a request acts for, once its credentials are checked: the project (from
 * the key or the token, never from the request), what it may do, whom its
 * limits count against, and, for a token that names one, the only user whose
 * data it may read.
 */
import { SCOPES, type Scope } from './api-key.js';

export interface Principal {
  /** The project every write goes to and every read is confined to; undefined in open mode (any project, as sent). */
  projectId: string | undefined;
  scopes: ReadonlySet<Scope>;
  /** What the rate limits and caps count against: a key id, or a token's project and subject. */
  subject: string;
  /** A token's `user_id` claim: reads see this user's data only, writes may only be this user's. */
  userId?: string;
  limits: { writeEventsPerSecond: number; readRequestsPerSecond: number };
  /** Origins whose pages may call the read routes. */
  allowedOrigins: readonly string[];
}

/** STREAMTRACK_AUTH=open: everything allowed, nothing limited. For a laptop, never production. */
export const OPEN_PRINCIPAL: Principal = {
  projectId: undefined,
  scopes: new Set(SCOPES),
  subject: 'open',
  limits: { writeEventsPerSecond: 0, readRequestsPerSecond: 0 },
  allowedOrigins: ['*'],
};
