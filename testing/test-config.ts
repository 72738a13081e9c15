/**
 * A StreamTrack configuration pointing at the test services, isolated per
 * test file: its own topic, consumer group and ClickHouse database, so files
 * never see each other's events.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../src/config.js';
import { ROLE_USERS, type KafkaRole } from '../src/kafka/acls.js';
import type { ServiceAddresses } from './services.js';

/** The broker's SASL settings for clients (empty for a plaintext broker). */
function kafkaSaslEnv(services: ServiceAddresses): NodeJS.ProcessEnv {
  const sasl = services.kafkaSasl;
  if (!sasl) return {};
  return { KAFKA_SASL_MECHANISM: sasl.mechanism, KAFKA_SASL_USERNAME: sasl.username, KAFKA_SASL_PASSWORD: sasl.password };
}

export function isolatedEnv(services: ServiceAddresses, overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const id = services.runId + randomBytes(4).toString('hex');
  return {
    KAFKA_BROKERS: services.kafkaBrokers,
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    CLICKHOUSE_URL: services.clickhouseUrl,
    CLICKHOUSE_USER: services.clickhouseUser,
    CLICKHOUSE_PASSWORD: services.clickhousePassword,
    ...kafkaSaslEnv(services),
    KAFKA_EVENTS_TOPIC: `test.events.${id}`,
    KAFKA_EVENTS_PARTITIONS: '4',
    KAFKA_CONSUMER_GROUP: `test-topology-${id}`,
    KAFKA_LIVE_GROUP_PREFIX: `test-live-${id}-`,
    CLICKHOUSE_DATABASE: `test_${id}`,
    LOG_LEVEL: 'warn',
    // Open, as a developer's stack runs: the tests of keys and limits ask for `keys` themselves.
    STREAMTRACK_AUTH: 'open',
    // Several workers and APIs per test: each on a free port for /healthz, /readyz, /metrics
    // (a test that reads them names a port of its own).
    WORKER_HTTP_PORT: '0',
    API_OPS_PORT: '0',
    // Test-only: tests replay fixed dates (testing/stack.ts starts at 2026-01-01), older than the 31-day
    // horizon of live ingestion; 10 years lets them through. A test of the horizon overrides it.
    API_MAX_PAST_MS: String(10 * 365 * 24 * 3_600_000),
    ...overrides,
  };
}

export function isolatedConfig(services: ServiceAddresses, overrides: NodeJS.ProcessEnv = {}): Config {
  return loadConfig(isolatedEnv(services, overrides));
}

/**
 * `env` for a process of one role: the role's own Kafka user when the broker
 * has role users (their ACLs granted on env's names: testing/deployment.ts),
 * else env as it is.
 */
export function roleEnv(services: ServiceAddresses, env: NodeJS.ProcessEnv, role: KafkaRole): NodeJS.ProcessEnv {
  const password = services.kafkaRolePasswords?.[role];
  if (!services.kafkaSasl || !password) return env;
  return { ...env, KAFKA_SASL_USERNAME: ROLE_USERS[role], KAFKA_SASL_PASSWORD: password };
}
