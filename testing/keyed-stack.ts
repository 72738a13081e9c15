/**
 * StreamTrack as production runs it, for the tests of what a browser or a
 * client sees: init, the API with keys (STREAMTRACK_AUTH=keys) as its own
 * Kafka user, optionally a worker, and two projects, `alpha` and `beta`,
 * each with a write key and a read key (events:read, stats:read).
 */
import { inject } from 'vitest';
import { runCli } from './cli.js';
import { initialize } from './deployment.js';
import { freePort, spawnStreamtrack, type StreamtrackProcess } from './processes.js';
import { isolatedEnv, roleEnv } from './test-config.js';
import { waitFor } from './wait-for.js';

export interface ProjectKeys {
  write: string;
  read: string;
}

export interface KeyedStack {
  base: string;
  env: NodeJS.ProcessEnv;
  api: StreamtrackProcess;
  worker: StreamtrackProcess | undefined;
  alpha: ProjectKeys;
  beta: ProjectKeys;
  /** Stops the processes; their exit codes. */
  stop(): Promise<Array<number | null>>;
}

async function projectKeys(name: string, env: NodeJS.ProcessEnv): Promise<ProjectKeys> {
  await runCli(['projects', 'create', name], env);
  const [write, read] = await Promise.all([
    runCli(['keys', 'create', '--project', name, '--scope', 'write'], env),
    runCli(['keys', 'create', '--project', name, '--scope', 'events:read', '--scope', 'stats:read'], env),
  ]);
  return { write: write.last, read: read.last };
}

export async function startKeyedStack({ worker = true, apiEnv = {} }: { worker?: boolean; apiEnv?: NodeJS.ProcessEnv } = {}): Promise<KeyedStack> {
  const services = inject('services');
  const port = await freePort();
  const env = isolatedEnv(services, { API_PORT: String(port), STREAMTRACK_AUTH: 'keys', AUTH_REFRESH_MS: '200', ...apiEnv });
  await initialize(services, env);
  const [alpha, beta] = [await projectKeys('alpha', env), await projectKeys('beta', env)];
  const api = spawnStreamtrack('api', roleEnv(services, env, 'api'));
  const workerProcess = worker ? spawnStreamtrack('worker', roleEnv(services, env, 'worker')) : undefined;
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined), {
    timeoutMs: 60_000,
    what: `API ready\n${api.output()}`,
  });
  // The keys are loaded once a keyed read answers other than 503.
  await waitFor(async () => ((await fetch(`${base}/activities?limit=1`, { headers: { Authorization: `Bearer ${alpha.read}` } })).status === 200 ? true : undefined), {
    timeoutMs: 30_000,
    what: `keys loaded\n${api.output()}`,
  });
  return {
    base,
    env,
    api,
    worker: workerProcess,
    alpha,
    beta,
    stop: () => Promise.all([api.stop(), ...(workerProcess ? [workerProcess.stop()] : [])]),
  };
}
