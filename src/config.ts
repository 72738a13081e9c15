/**
 * The one typed configuration object, built and validated from the
 * environment at boot and passed down. Nothing else reads process.env.
 * Defaults match the native services of scripts/services.sh, so the API and
 * the worker run with no variables set on a development machine.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const EnvSchema = z.object({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(8080),
  API_MAX_BODY_BYTES: positiveInt.default(512_000),
  API_MAX_EVENT_BYTES: positiveInt.default(32_768),
  API_MAX_BATCH_EVENTS: positiveInt.default(10_000),
  API_MAX_FUTURE_MS: positiveInt.default(3_600_000),
  API_PUBLISH_TIMEOUT_MS: positiveInt.default(3_000),
  KAFKA_LINGER_MS: z.coerce.number().int().min(0).default(2),
  KAFKA_BROKERS: csv.default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().default('streamtrack'),
  KAFKA_EVENTS_TOPIC: z.string().default('streamtrack.events'),
  KAFKA_EVENTS_PARTITIONS: positiveInt.default(12),
  KAFKA_CONSUMER_GROUP: z.string().default('streamtrack-topology'),
  KAFKA_SESSION_TIMEOUT_MS: positiveInt.default(30_000),
  SCHEMA_REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081'),
  SCHEMA_REFRESH_MS: positiveInt.default(30_000),
  SCHEMAS_REGISTER_ON_START: z.enum(['true', 'false']).default('true'),
  CLICKHOUSE_URL: z.string().url().default('http://127.0.0.1:8123'),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('streamtrack'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_REQUEST_TIMEOUT_MS: positiveInt.default(20_000),
  TOPOLOGY_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  TOPOLOGY_SESSION_GAP_MS: positiveInt.default(30 * 60_000),
  TOPOLOGY_ROLLING_UPDATE_MS: positiveInt.default(10_000),
  TOPOLOGY_LATE_POLICY: z.enum(['drop', 'correct']).default('drop'),
  TOPOLOGY_EMIT_WITHIN_MS: positiveInt.default(1_000),
  TOPOLOGY_IDLE_AFTER_MS: positiveInt.default(30_000),
  TOPOLOGY_MAX_OPEN_WINDOWS: positiveInt.default(50_000),
  TOPOLOGY_MAX_ACTIONS_PER_WINDOW: positiveInt.default(100),
  TOPOLOGY_NUMERIC_PROPERTIES: csv.default('amount,price,value,duration_ms'),
  WORKER_HTTP_HOST: z.string().default('127.0.0.1'),
  // 0: any free port (several workers on one machine, as in the tests).
  WORKER_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  api: {
    host: string;
    port: number;
    maxBodyBytes: number;
    maxEventBytes: number;
    maxBatchEvents: number;
    maxFutureMs: number;
    publishTimeoutMs: number;
  };
  kafka: {
    brokers: string[];
    clientId: string;
    eventsTopic: string;
    eventsPartitions: number;
    consumerGroup: string;
    lingerMs: number;
    /** The worker's consumer-group session: without a heartbeat for this long, its partitions go to another member. */
    sessionTimeoutMs: number;
  };
  schemaRegistry: { url: string; refreshMs: number; registerOnStart: boolean };
  clickhouse: {
    url: string;
    database: string;
    username: string;
    password: string;
    /** Below the session timeout: a write stuck in ClickHouse fails (and is retried, with a heartbeat) before the member is dropped. */
    requestTimeoutMs: number;
  };
  topology: {
    graceMs: number;
    sessionGapMs: number;
    /** Event time between two rolling updates of an open window. */
    rollingUpdateMs: number;
    latePolicy: 'drop' | 'correct';
    numericProperties: string[];
    /** Longest wall time an open window's changes wait to be emitted (wall-clock punctuation). */
    emitWithinMs: number;
    /** Wall time a caught-up partition receives nothing before its watermark follows the wall clock. */
    idleAfterMs: number;
    /** Open windows per partition and topology at most; events of further users count under `$other`. */
    maxOpenWindows: number;
    /** Distinct actions one window counts; further actions count under `$other`. */
    maxActionsPerWindow: number;
  };
  /** The worker's own HTTP endpoint: /healthz, /readyz, /metrics. */
  worker: { httpHost: string; httpPort: number };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  // The worker heartbeats between a sink's attempts: one attempt must end well inside a session.
  if (e.CLICKHOUSE_REQUEST_TIMEOUT_MS >= e.KAFKA_SESSION_TIMEOUT_MS) {
    throw new ConfigError(
      `invalid configuration: CLICKHOUSE_REQUEST_TIMEOUT_MS (${e.CLICKHOUSE_REQUEST_TIMEOUT_MS}) must be below KAFKA_SESSION_TIMEOUT_MS (${e.KAFKA_SESSION_TIMEOUT_MS})`,
    );
  }
  return {
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      maxBodyBytes: e.API_MAX_BODY_BYTES,
      maxEventBytes: e.API_MAX_EVENT_BYTES,
      maxBatchEvents: e.API_MAX_BATCH_EVENTS,
      maxFutureMs: e.API_MAX_FUTURE_MS,
      publishTimeoutMs: e.API_PUBLISH_TIMEOUT_MS,
    },
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      eventsTopic: e.KAFKA_EVENTS_TOPIC,
      eventsPartitions: e.KAFKA_EVENTS_PARTITIONS,
      consumerGroup: e.KAFKA_CONSUMER_GROUP,
      lingerMs: e.KAFKA_LINGER_MS,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    },
    schemaRegistry: {
      url: e.SCHEMA_REGISTRY_URL,
      refreshMs: e.SCHEMA_REFRESH_MS,
      registerOnStart: e.SCHEMAS_REGISTER_ON_START === 'true',
    },
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      database: e.CLICKHOUSE_DATABASE,
      username: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      requestTimeoutMs: e.CLICKHOUSE_REQUEST_TIMEOUT_MS,
    },
    topology: {
      graceMs: e.TOPOLOGY_GRACE_MS,
      sessionGapMs: e.TOPOLOGY_SESSION_GAP_MS,
      rollingUpdateMs: e.TOPOLOGY_ROLLING_UPDATE_MS,
      latePolicy: e.TOPOLOGY_LATE_POLICY,
      numericProperties: e.TOPOLOGY_NUMERIC_PROPERTIES,
      emitWithinMs: e.TOPOLOGY_EMIT_WITHIN_MS,
      idleAfterMs: e.TOPOLOGY_IDLE_AFTER_MS,
      maxOpenWindows: e.TOPOLOGY_MAX_OPEN_WINDOWS,
      maxActionsPerWindow: e.TOPOLOGY_MAX_ACTIONS_PER_WINDOW,
    },
    worker: { httpHost: e.WORKER_HTTP_HOST, httpPort: e.WORKER_HTTP_PORT },
    logLevel: e.LOG_LEVEL,
  };
}
