/**
 * /healthz: the process is up (liveness). /readyz: every named check passes,
 * each within a short deadline (readiness): for the API, Kafka, the Schema
 * Registry and ClickHouse answer, so a load balancer stops routing to it when
 * one is gone; for a worker, it is a member of the consumer group.
 */
import { Hono } from 'hono';

export type DependencyCheck = () => Promise<unknown>;

export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: Record<string, { ok: boolean; error?: string }>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: DependencyCheck): Promise<{ ok: boolean; error?: string }> {
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

export function createHealthRoutes(checks: Record<string, DependencyCheck>) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((name) => runCheck(checks[name]!)));
      const readiness: Readiness = {
        status: results.every((r) => r.ok) ? 'ready' : 'unavailable',
        checks: Object.fromEntries(names.map((name, i) => [name, results[i]!])),
      };
      return c.json(readiness, readiness.status === 'ready' ? 200 : 503);
    });
}
