/**
 * /healthz: the process is up (liveness). /readyz: every required check
 * passes, each within a short deadline (readiness). Informational checks are
 * reported but do not make the process unready: the API needs Kafka and the
 * Schema Registry to ingest, while ClickHouse only serves the read endpoints,
 * and taking every API pod out of its load balancer because the database is
 * down would stop ingestion that never waits on it. A worker is ready while
 * it is a member of the consumer group.
 *
 * The checks run at most once per `cacheMs` whatever the request rate:
 * concurrent requests share the probe in flight, and later ones read its
 * result until it is `cacheMs` old, so /readyz cannot be used to flood the
 * dependencies. Clients see only the status; each check's result and error
 * text are for the operations port.
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

/** /readyz's answer on a port clients reach: the status alone. The API's OpenAPI document uses this schema. */
export const PublicReadinessSchema = z.object({ status: z.enum(['ready', 'unavailable']) }).openapi('Readiness');

/** /readyz's answer on an operations port: every check's result. */
export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.record(
    z.object({
      ok: z.boolean(),
      error: z.string().optional(),
      required: z.literal(false).optional().openapi({ description: 'Reported only: does not decide readiness (ClickHouse)' }),
    }),
  ),
});

export type Readiness = z.infer<typeof ReadinessSchema>;

const CHECK_TIMEOUT_MS = 2_000;
/** How long a probe's result answers /readyz: Kubernetes probes every few seconds, so a second old is fresh. */
export const READINESS_CACHE_MS = 1_000;

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

/** The readiness of the process, probed at most once per `cacheMs` (single flight). */
export type ReadinessProbe = () => Promise<Readiness>;

export function createReadinessProbe(
  { required, informational = {} }: ReadinessChecks,
  { cacheMs = READINESS_CACHE_MS, now = Date.now }: { cacheMs?: number; now?: () => number } = {},
): ReadinessProbe {
  const checks = [
    ...Object.entries(required).map(([name, check]) => ({ name, check, required: true })),
    ...Object.entries(informational).map(([name, check]) => ({ name, check, required: false })),
  ];
  const probe = async (): Promise<Readiness> => {
    const results = await Promise.all(checks.map(({ check }) => runCheck(check)));
    return {
      status: checks.every((check, i) => !check.required || results[i]!.ok) ? 'ready' : 'unavailable',
      checks: Object.fromEntries(checks.map(({ name, required }, i) => [name, required ? results[i]! : { ...results[i]!, required: false }])),
    };
  };
  let current: { result: Promise<Readiness>; settledAt?: number } | undefined;
  return () => {
    const fresh = current && (current.settledAt === undefined || now() - current.settledAt < cacheMs);
    if (!fresh) {
      const entry: { result: Promise<Readiness>; settledAt?: number } = { result: probe() };
      // runCheck never rejects, so neither does the probe.
      void entry.result.then(() => (entry.settledAt = now()));
      current = entry;
    }
    return current!.result;
  };
}

/**
 * /healthz and /readyz. `detail`: /readyz lists every check with its error
 * (operations ports); without it, the status alone (the port clients reach:
 * error texts name hosts and internals).
 */
export function createHealthRoutes(readiness: ReadinessProbe, { detail }: { detail: boolean }) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const found = await readiness();
      const status = found.status === 'ready' ? 200 : 503;
      return detail ? c.json(found, status) : c.json({ status: found.status }, status);
    });
}
