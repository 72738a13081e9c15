/**
 * Parameters of the read routes as zod schemas: one definition validates a
 * request and documents it (OpenAPI). The hook below turns their issues into
 * the API's one 400, `invalid_parameter`, with a `{field, expected?, problem}`
 * detail for each problem, all that the schema finds in one answer.
 *
 * Hono hands a query parameter to the schema as a string, or as an array of
 * strings when it was repeated: a single-valued parameter refuses a repeat by
 * its type, and `many()` takes one or more. What OpenAPI cannot say is
 * checked here in code, and said in the descriptions: unknown parameters are
 * refused (`queryParameters`), and cross-field rules are each route's
 * `superRefine`.
 *
 * Conventions the hook relies on: a parameter's own schema says what it
 * expects in its error messages (`expecting`); a rule of ours adds a custom
 * issue whose params are the detail (`problem`, `expected`?).
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { TIME_EXPECTED, parseTime, type FieldError } from '../ingestion/validate-event.js';
import { ApiError } from './errors.js';

type Detail = Omit<FieldError, 'field'>;

export function invalidParameters(errors: FieldError[]): never {
  throw new ApiError(400, 'invalid_parameter', 'a query parameter is not valid; see details', errors);
}

/**
 * A problem found by a rule of ours, at `field` (else at the schema's own
 * field); `fatal` keeps the cross-field rules from reading a value that is
 * not there.
 */
export function refuse(ctx: z.RefinementCtx, detail: Detail, { field, fatal = false }: { field?: string; fatal?: boolean } = {}) {
  ctx.addIssue({ code: z.ZodIssueCode.custom, params: detail, fatal, ...(field === undefined ? {} : { path: [field] }) });
}

/** Every issue of a parameter's own schema reads as what the parameter expects. */
export function expecting(expected: string) {
  return { errorMap: () => ({ message: expected }) };
}

/** A non-negative integer in [min, max], written in digits only (no sign, exponent or spaces). */
export function integer(min: number, max: number) {
  return z.preprocess(
    (raw) => (typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw),
    z.number(expecting(`integer ${min}..${max}`)).int().min(min).max(max),
  );
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expecting(values.join(' | ')));
}

/** `true` or `false`, false when absent. */
export function flag() {
  return oneOf(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true');
}

/** Epoch milliseconds from ISO-8601 with a zone or epoch ms (the event's own time format). */
export const time = z
  .string()
  .transform((raw, ctx) => {
    const ms = parseTime(/^\d+$/.test(raw) ? Number(raw) : raw);
    if (ms === undefined) refuse(ctx, { expected: TIME_EXPECTED, problem: `got "${raw}"` }, { fatal: true });
    return ms ?? z.NEVER;
  })
  .openapi({ description: TIME_EXPECTED, examples: ['2026-11-25T00:00:00Z', '1795651200000'] });

/** A repeatable parameter: `?user_id=a&user_id=b`, up to `max` values. */
export function many<T extends z.ZodTypeAny>(item: T, max: number) {
  return z
    .preprocess((raw) => (typeof raw === 'string' ? [raw] : raw), z.array(item).max(max))
    .default([])
    .openapi({ param: { style: 'form', explode: true } });
}

/**
 * The query parameters of a route: `shape`, plus any name `alsoAllowed`
 * matches (a family OpenAPI cannot name, read by the route itself); any
 * other name is refused.
 */
export function queryParameters<S extends z.ZodRawShape>(shape: S, alsoAllowed?: RegExp) {
  const allowed = Object.keys(shape);
  return z.preprocess((raw, ctx) => {
    for (const name of Object.keys(raw as Record<string, unknown>)) {
      if (!(name in shape) && !alsoAllowed?.test(name)) {
        refuse(ctx, { problem: `is not a known parameter; allowed: ${allowed.join(', ')}` }, { field: name });
      }
    }
    return raw;
  }, z.object(shape));
}

function detail(issue: z.ZodIssue, raw: (path: (string | number)[]) => string | undefined): FieldError {
  const field = String(issue.path[0] ?? '$');
  if (issue.code === z.ZodIssueCode.custom) return { field, ...(issue.params as Detail) };
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'array') return { field, problem: 'may be given once' };
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') return { field, problem: 'is required' };
  if (issue.code === z.ZodIssueCode.too_big && issue.type === 'array') return { field, problem: `at most ${issue.maximum} values` };
  return { field, expected: issue.message, problem: `got "${raw(issue.path)}"` };
}

/** The OpenAPI routes' validation hook: a failed parameter check is the API's 400. */
export function refuseInvalidParameters(result: { target: string } & ({ success: true } | { success: false; error: z.ZodError }), c: Context) {
  if (result.success) return;
  const raw = ([name, index]: (string | number)[]) =>
    result.target === 'param' ? c.req.param(String(name)) : c.req.queries(String(name))?.[typeof index === 'number' ? index : 0];
  invalidParameters(result.error.issues.map((issue) => detail(issue, raw)));
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
