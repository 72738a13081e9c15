/**
 * A Kafka broker, Schema Registry or ClickHouse engine of the test's own
 * (scripts/services.sh with a private run directory and ports), so a test can
 * stop and restart it without touching the shared services.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.js';
import { REPO_ROOT, parseExports } from './services.js';

const run = promisify(execFile);

export type PrivateServiceName = 'kafka' | 'schema-registry' | 'clickhouse';

export interface PrivateService {
  /** `host:port` for Kafka, a URL for the registry. */
  address: string;
  /**
   * For Kafka: the client settings of its super user (KAFKA_SASL_*), to lay
   * over isolatedEnv's; empty for the others. Known once it has started.
   */
  clientEnv(): NodeJS.ProcessEnv;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Freezes the running service (SIGSTOP to its process group): connections
   * are accepted by the kernel and requests sent, but nothing is answered
   * until `resume` (SIGCONT): a stalled service, not a stopped one.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  remove(): Promise<void>;
}

/** The native services need Java (Kafka), Go (the registry) or npm (the ClickHouse engine) here. */
export function canRunPrivate(name: PrivateServiceName): boolean {
  const [tool, args] = ({ kafka: ['java', ['-version']], 'schema-registry': ['go', ['version']], clickhouse: ['npm', ['--version']] } as const)[name];
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function privateService(name: PrivateServiceName): Promise<PrivateService> {
  const runDir = await mkdtemp(join(tmpdir(), `streamtrack-${name}-`));
  const port = await freePort();
  const env = {
    ...process.env,
    ST_RUN_DIR: runDir,
    ST_KAFKA_PORT: String(port),
    ST_KAFKA_CONTROLLER_PORT: String(await freePort()),
    ST_KAFKA_PARTITIONS: '4',
    ST_REGISTRY_PORT: String(port),
    ST_CLICKHOUSE_PORT: String(port),
  };
  const script = (command: 'up' | 'down' | 'env') =>
    run('bash', [`${REPO_ROOT}scripts/services.sh`, command, name], { env, timeout: 600_000 });
  let clientEnv: NodeJS.ProcessEnv = {};
  // services.sh starts each service with setsid and keeps its pid: the leader of its own process group.
  const signal = async (sent: NodeJS.Signals) => {
    process.kill(-Number((await readFile(join(runDir, `${name}.pid`), 'utf8')).trim()), sent);
  };
  return {
    address: name === 'kafka' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`,
    clientEnv: () => clientEnv,
    async start() {
      await script('up');
      if (name !== 'kafka') return;
      const printed = parseExports((await script('env')).stdout);
      clientEnv = Object.fromEntries(Object.entries(printed).filter(([key]) => key.startsWith('KAFKA_SASL_')));
    },
    stop: async () => void (await script('down')),
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async remove() {
      await script('down');
      await rm(runDir, { recursive: true, force: true });
    },
  };
}
