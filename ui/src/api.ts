/**
 * The UI's one way to the API: the public routes, with the read key the
 * user signed in with (kept in sessionStorage: gone when the tab closes),
 * and the API's one error shape turned into a sentence a person can act on.
 */
const KEY_ITEM = 'streamtrack.key';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY_ITEM),
  signIn: (key: string) => sessionStorage.setItem(KEY_ITEM, key),
  signOut: () => sessionStorage.removeItem(KEY_ITEM),
};

export interface FieldError {
  field: string;
  expected?: string;
  problem: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
  }
}

/** What a refusal means for the person reading it. */
export function explain(status: number, code: string, message: string, details: FieldError[] = []): string {
  const where = details.map((d) => `${d.field}: ${d.problem}${d.expected ? ` (expected ${d.expected})` : ''}`).join('; ');
  switch (status) {
    case 401:
      return 'The API refused this key (401 unauthorized): it is mistyped, revoked, or not a key of this StreamTrack. Sign in again with a read key (st_sk_…).';
    case 403:
      return `This key may not do that (403 forbidden): ${message}. Sign in with a key that has the events:read and stats:read scopes.`;
    case 429:
      return `Too many requests for this key just now (${code}): ${message}`;
    default:
      return `${message}${where ? ` — ${where}` : ''} (${status} ${code})`;
  }
}

async function failure(response: Response): Promise<ApiFailure> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code: string; message: string; details?: FieldError[] } } | undefined;
  const code = body?.error?.code ?? 'http_error';
  const message = body?.error?.message ?? response.statusText;
  return new ApiFailure(response.status, code, explain(response.status, code, message, body?.error?.details), body?.error?.details);
}

export function authHeaders(key = session.key()): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export type Query = Record<string, string | number | undefined | null | Array<string | number>>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** GET a JSON route; throws an ApiFailure with the explanation, or when the API does not answer. */
export async function getJson<T>(path: string, query: Query = {}, options: { key?: string | null; signal?: AbortSignal } = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${path}${queryString(query)}`, { headers: authHeaders(options.key ?? session.key()), ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiFailure(0, 'unreachable', 'The API did not answer: is it running, and is this page served by it?');
  }
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** GET a route that may not exist on this API (another build): null on 404. */
export async function getOptional<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T | null> {
  try {
    return await getJson<T>(path, query, signal ? { signal } : {});
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return null;
    throw error;
  }
}

/** An event as /activities and /live/events give it. */
export interface StoredEvent {
  event_id: string;
  project_id: string;
  user_id: string;
  action: string;
  timestamp: string;
  sent_at: string | null;
  received_at: string;
  session_id: string | null;
  properties: Record<string, string | number | boolean | null>;
  context: unknown;
  warnings: string[];
  partition?: number;
  offset?: number;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
