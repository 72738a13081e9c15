/**
 * /healthz: the process is up (liveness). /readyz: every required check
 * passes, each within a short deadline (readiness). Informational checks are
 * reported but do not make the process unready: the API needs Kafka and the
 * Schema Registry to ingest, while ClickHouse only serves the read endpoints,
 * and taking every API pod out of its load balancer because the database is
 * down would stop ingestion that never waits on it. A worker is ready while
 * it is a member of the consumer group.
 */
import { z } from '@hono/zod-openapi';
import { Hono } from 'hono';

export type DependencyCheck = () => Promise<unknown>;

export interface ReadinessChecks {
  required: Record<string, DependencyCheck>;
  informational?: Record<string, DependencyCheck>;
}

type CheckResult = { ok: boolean; error?: string };

export const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');

/** /readyz's answer; the API's OpenAPI document uses this same schema. */
export const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.record(
      z.object({
        ok: z.boolean(),
        error: z.string().optional(),
        required: z.literal(false).optional().openapi({ description: 'Reported only: does not decide readiness (ClickHouse)' }),
      }),
    ),
  })
  .openapi('Readiness');

export type Readiness = z.infer<typeof ReadinessSchema>;

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: DependencyCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function createHealthRoutes({ required, informational = {} }: ReadinessChecks) {
  const checks = [
    ...Object.entries(required).map(([name, check]) => ({ name, check, required: true })),
    ...Object.entries(informational).map(([name, check]) => ({ name, check, required: false })),
  ];
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const results = await Promise.all(checks.map(({ check }) => runCheck(check)));
      const readiness: Readiness = {
        status: checks.every((check, i) => !check.required || results[i]!.ok) ? 'ready' : 'unavailable',
        checks: Object.fromEntries(checks.map(({ name, required }, i) => [name, required ? results[i]! : { ...results[i]!, required: false }])),
      };
      return c.json(readiness, readiness.status === 'ready' ? 200 : 503);
    });
}
