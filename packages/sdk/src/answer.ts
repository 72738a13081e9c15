/**
 * What one `POST /track` answer means for each event of the batch sent.
 * Final: the server's per-event results (202, 207, 400 with results) or a
 * refusal of the whole request (any other 4xx: wrong key, bad body), which
 * no retry can change. Retry: 429, 408, 5xx, a timeout, no connection, or an
 * answer that is not the documented body (a proxy's page): the events' ids
 * make a resend safe, the server stores each id once. Split: 413 for a batch
 * of more than one event.
 */
export interface EventError {
  field: string;
  code: string;
  problem: string;
}

export type ServerResult =
  | { status: 'accepted'; event_id: string; warnings?: string[] }
  | { status: 'refused'; errors: EventError[] };

export type Answer =
  | { kind: 'results'; results: ServerResult[] }
  | { kind: 'refused'; httpStatus: number; code: string; message: string }
  | { kind: 'retry'; reason: string; retryAfterMs?: number; answered: boolean }
  | { kind: 'split' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readResults(body: unknown, count: number): ServerResult[] | undefined {
  if (!isRecord(body) || !Array.isArray(body.results) || body.results.length !== count) return undefined;
  const results: ServerResult[] = [];
  for (const r of body.results as unknown[]) {
    if (!isRecord(r)) return undefined;
    if (r.status === 'accepted' && typeof r.event_id === 'string') {
      results.push(Array.isArray(r.warnings) ? { status: 'accepted', event_id: r.event_id, warnings: r.warnings.map(String) } : { status: 'accepted', event_id: r.event_id });
    } else if (r.status === 'refused') {
      results.push({ status: 'refused', errors: Array.isArray(r.errors) ? r.errors.filter(isRecord).map((e) => ({ field: String(e.field), code: String(e.code), problem: String(e.problem) })) : [] });
    } else return undefined;
  }
  return results;
}

export function readAnswer(httpStatus: number, text: string | undefined, retryAfterMs: number | undefined, count: number): Answer {
  let body: unknown;
  try {
    body = text === undefined ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (httpStatus === 202 || httpStatus === 207 || httpStatus === 400) {
    const results = readResults(body, count);
    if (results) return { kind: 'results', results };
  }
  if (httpStatus === 413 && count > 1) return { kind: 'split' };
  if (httpStatus === 429 || httpStatus === 408 || httpStatus >= 500 || httpStatus < 400) {
    const answer: Answer = { kind: 'retry', reason: `http_${httpStatus}`, answered: true };
    if (retryAfterMs !== undefined) answer.retryAfterMs = retryAfterMs;
    return answer;
  }
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  return {
    kind: 'refused',
    httpStatus,
    code: typeof error.code === 'string' ? error.code : `http_${httpStatus}`,
    message: typeof error.message === 'string' ? error.message.slice(0, 500) : `the server refused the request (${httpStatus})`,
  };
}
