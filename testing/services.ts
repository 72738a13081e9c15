/**
 * Where the integration and end-to-end tests find Kafka, the Schema Registry
 * and ClickHouse, in this order:
 *   1. addresses in the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
 *      CLICKHOUSE_URL, and the broker's SASL settings: KAFKA_SASL_MECHANISM,
 *      KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, the role users' passwords
 *      ST_KAFKA_API_PASSWORD, ST_KAFKA_WORKER_PASSWORD; .ci/run exports what
 *      `scripts/services.sh env` prints);
 *   2. Docker available: Testcontainers starts them;
 *   3. neither: scripts/services.sh provisions and starts them natively.
 * Whatever this starts, it stops. The native broker authenticates with SCRAM
 * and authorizes with ACLs, as production's does; Testcontainers' broker is
 * plaintext (no SASL settings, no role users).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { KafkaSasl } from '../src/config.js';
import type { KafkaRole } from '../src/kafka/acls.js';

export interface ServiceAddresses {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  clickhouseUrl: string;
  clickhouseUser: string;
  clickhousePassword: string;
  /** The clients' SASL settings (a super user of the broker), when it authenticates. */
  kafkaSasl?: KafkaSasl;
  /** Passwords of the broker's role users (src/kafka/acls.ts), when it has them. */
  kafkaRolePasswords?: Record<KafkaRole, string>;
  /** How they were obtained, printed once so a run says what it tested against. */
  source: 'environment' | 'testcontainers' | 'native';
  /**
   * Begins the names of every database, topic and group this run creates
   * (test-config.ts), so that cleaning up after it (leftovers.ts) never
   * touches what a concurrent run on the same services is using.
   */
  runId: string;
}

export interface StartedServices {
  addresses: ServiceAddresses;
  stop(): Promise<void>;
}

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** What `scripts/services.sh env` prints about the broker's users (nothing for a plaintext broker). */
function kafkaSecurity(env: NodeJS.ProcessEnv): Pick<ServiceAddresses, 'kafkaSasl' | 'kafkaRolePasswords'> {
  const { KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, ST_KAFKA_API_PASSWORD, ST_KAFKA_WORKER_PASSWORD } = env;
  if (!KAFKA_SASL_MECHANISM) return {};
  if (KAFKA_SASL_MECHANISM !== 'scram-sha-512' || !KAFKA_SASL_USERNAME || !KAFKA_SASL_PASSWORD) {
    throw new Error('KAFKA_SASL_MECHANISM must be scram-sha-512, with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  }
  return {
    kafkaSasl: { mechanism: KAFKA_SASL_MECHANISM, username: KAFKA_SASL_USERNAME, password: KAFKA_SASL_PASSWORD },
    ...(ST_KAFKA_API_PASSWORD && ST_KAFKA_WORKER_PASSWORD && { kafkaRolePasswords: { api: ST_KAFKA_API_PASSWORD, worker: ST_KAFKA_WORKER_PASSWORD } }),
  };
}

function fromEnvironment(env: NodeJS.ProcessEnv): Found | undefined {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, CLICKHOUSE_URL } = env;
  if (!KAFKA_BROKERS || !SCHEMA_REGISTRY_URL || !CLICKHOUSE_URL) return undefined;
  return {
    kafkaBrokers: KAFKA_BROKERS,
    schemaRegistryUrl: SCHEMA_REGISTRY_URL,
    clickhouseUrl: CLICKHOUSE_URL,
    clickhouseUser: env.CLICKHOUSE_USER ?? 'default',
    clickhousePassword: env.CLICKHOUSE_PASSWORD ?? '',
    ...kafkaSecurity(env),
    source: 'environment',
  };
}

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function withTestcontainers(): Promise<{ addresses: Found; stop(): Promise<void> }> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { ClickHouseContainer } = await import('@testcontainers/clickhouse');
  const network = await new Network().start();
  const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.0')
    .withKraft()
    .withNetwork(network)
    .withNetworkAliases('kafka')
    .start();
  const registry = await new GenericContainer('confluentinc/cp-schema-registry:7.9.0')
    .withNetwork(network)
    .withEnvironment({
      SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
      SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
      SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:9092',
    })
    .withExposedPorts(8081)
    .withWaitStrategy(Wait.forHttp('/subjects', 8081))
    .start();
  const clickhouse = await new ClickHouseContainer('clickhouse/clickhouse-server:25.8').start();
  return {
    addresses: {
      kafkaBrokers: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
      schemaRegistryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8081)}`,
      clickhouseUrl: clickhouse.getHttpUrl(),
      clickhouseUser: clickhouse.getUsername(),
      clickhousePassword: clickhouse.getPassword(),
      source: 'testcontainers',
    },
    async stop() {
      await Promise.all([registry.stop(), clickhouse.stop()]);
      await kafka.stop();
      await network.stop();
    },
  };
}

async function withNativeServices(): Promise<{ addresses: Found; stop(): Promise<void> }> {
  const script = `${REPO_ROOT}scripts/services.sh`;
  // Services a developer already runs are used and left running.
  const alreadyRunning = await run('bash', [script, 'status']).then(() => true, () => false);
  if (!alreadyRunning) await run('bash', [script, 'up'], { cwd: REPO_ROOT, timeout: 15 * 60_000 });
  // The addresses and the broker's credentials, as the script prints them for a shell to eval.
  const { stdout } = await run('bash', [script, 'env'], { cwd: REPO_ROOT });
  const printed = parseExports(stdout);
  return {
    addresses: {
      kafkaBrokers: printed.KAFKA_BROKERS ?? '127.0.0.1:9092',
      schemaRegistryUrl: printed.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081',
      clickhouseUrl: printed.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
      clickhouseUser: 'default',
      clickhousePassword: '',
      ...kafkaSecurity(printed),
      source: 'native',
    },
    async stop() {
      if (!alreadyRunning) await run('bash', [script, 'down'], { cwd: REPO_ROOT, timeout: 120_000 });
    },
  };
}

/** `export NAME=value` lines (values without spaces or quotes, as services.sh prints them). */
export function parseExports(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

type Found = Omit<ServiceAddresses, 'runId'>;

export async function startServices(env: NodeJS.ProcessEnv = process.env): Promise<StartedServices> {
  const runId = randomBytes(3).toString('hex');
  const given = fromEnvironment(env);
  if (given) return { addresses: { ...given, runId }, stop: async () => undefined };
  const started = dockerAvailable() ? await withTestcontainers() : await withNativeServices();
  return { addresses: { ...started.addresses, runId }, stop: started.stop };
}
