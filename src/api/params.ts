/** Query-parameter checks shared by the read routes: one error shape, one time format. */
import { TIME_EXPECTED, parseTime, type FieldError } from '../ingestion/validate-event.js';
import { ApiError } from './errors.js';

export function invalidParameters(errors: FieldError[]): never {
  throw new ApiError(400, 'invalid_parameter', 'a query parameter is not valid; see details', errors);
}

/** Epoch milliseconds from ISO-8601 with a zone or epoch ms (the event's own time format); a problem is added to `errors`. */
export function parseTimeParam(field: string, raw: string, errors: FieldError[]): number | undefined {
  const ms = parseTime(/^\d+$/.test(raw) ? Number(raw) : raw);
  if (ms !== undefined) return ms;
  errors.push({ field, expected: TIME_EXPECTED, problem: `got "${raw}"` });
  return undefined;
}

/** Refuses parameters outside `allowed` and repeats of single-valued ones. */
export function checkParameterNames(queries: Record<string, string[]>, allowed: Set<string>, errors: FieldError[], multi = new Set<string>()) {
  for (const [name, values] of Object.entries(queries)) {
    if (!allowed.has(name) && !multi.has(name)) {
      errors.push({ field: name, problem: `is not a known parameter; allowed: ${[...allowed, ...multi].join(', ')}` });
    } else if (!multi.has(name) && values.length > 1) errors.push({ field: name, problem: 'may be given once' });
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
