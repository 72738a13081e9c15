/**
 * Where the integration and end-to-end tests find Kafka, the Schema Registry
 * and ClickHouse, in this order:
 *   1. addresses in the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
 *      CLICKHOUSE_URL; .ci/run exports them);
 *   2. Docker available: Testcontainers starts them;
 *   3. neither: scripts/services.sh provisions and starts them natively.
 * Whatever this starts, it stops.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

export interface ServiceAddresses {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  clickhouseUrl: string;
  clickhouseUser: string;
  clickhousePassword: string;
  /** How they were obtained, printed once so a run says what it tested against. */
  source: 'environment' | 'testcontainers' | 'native';
}

export interface StartedServices {
  addresses: ServiceAddresses;
  stop(): Promise<void>;
}

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

function fromEnvironment(env: NodeJS.ProcessEnv): ServiceAddresses | undefined {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, CLICKHOUSE_URL } = env;
  if (!KAFKA_BROKERS || !SCHEMA_REGISTRY_URL || !CLICKHOUSE_URL) return undefined;
  return {
    kafkaBrokers: KAFKA_BROKERS,
    schemaRegistryUrl: SCHEMA_REGISTRY_URL,
    clickhouseUrl: CLICKHOUSE_URL,
    clickhouseUser: env.CLICKHOUSE_USER ?? 'default',
    clickhousePassword: env.CLICKHOUSE_PASSWORD ?? '',
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

async function withTestcontainers(): Promise<StartedServices> {
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

async function withNativeServices(): Promise<StartedServices> {
  const script = `${REPO_ROOT}scripts/services.sh`;
  // Services a developer already runs are used and left running.
  const alreadyRunning = await run('bash', [script, 'status']).then(() => true, () => false);
  if (!alreadyRunning) await run('bash', [script, 'up'], { cwd: REPO_ROOT, timeout: 15 * 60_000 });
  return {
    addresses: {
      kafkaBrokers: '127.0.0.1:9092',
      schemaRegistryUrl: 'http://127.0.0.1:8081',
      clickhouseUrl: 'http://127.0.0.1:8123',
      clickhouseUser: 'default',
      clickhousePassword: '',
      source: 'native',
    },
    async stop() {
      if (!alreadyRunning) await run('bash', [script, 'down'], { cwd: REPO_ROOT, timeout: 120_000 });
    },
  };
}

export async function startServices(env: NodeJS.ProcessEnv = process.env): Promise<StartedServices> {
  const given = fromEnvironment(env);
  if (given) return { addresses: given, stop: async () => undefined };
  return dockerAvailable() ? withTestcontainers() : withNativeServices();
}
