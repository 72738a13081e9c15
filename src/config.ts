/**
 * The one typed configuration object, built and validated from the
 * environment at boot and passed down. Nothing else reads process.env.
 * Defaults match the native services of scripts/services.sh, so the API and
 * the worker run with no variables set on a development machine.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65_535);
/** A port, or 0 for any free one (several processes on one machine, as in the tests). */
const portOrAny = z.coerce.number().int().min(0).max(65_535);
const DAY_MS = 86_400_000;
const positiveInt = z.coerce.number().int().positive();
const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
/** An empty variable counts as unset (manifests and compose files often template them in empty). */
const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** The live tail's consumer groups' prefix unless KAFKA_LIVE_GROUP_PREFIX says otherwise (the deployments' ACLs name it). */
export const DEFAULT_LIVE_GROUP_PREFIX = 'streamtrack-live-';

const EnvSchema = z.object({
  // Unset means keys: only the local start scripts and docker-compose say open.
  STREAMTRACK_AUTH: z.enum(['open', 'keys']).default('keys'),
  AUTH_REFRESH_MS: positiveInt.default(2_000),
  API_WRITE_EVENTS_PER_SECOND: positiveInt.default(1_000),
  API_READ_REQUESTS_PER_SECOND: positiveInt.default(20),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(8080),
  API_MAX_BODY_BYTES: positiveInt.default(512_000),
  API_MAX_EVENT_BYTES: positiveInt.default(32_768),
  API_MAX_BATCH_EVENTS: positiveInt.default(10_000),
  API_MAX_FUTURE_MS: positiveInt.default(3_600_000),
  // 31 days: older events are refused (timestamp_too_old); historical data is an import, not live tracking.
  API_MAX_PAST_MS: positiveInt.default(31 * 24 * 3_600_000),
  API_PUBLISH_TIMEOUT_MS: positiveInt.default(3_000),
  API_OPS_HOST: z.string().default('127.0.0.1'),
  API_OPS_PORT: portOrAny.default(9465),
  API_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  API_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  API_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5_000),
  API_MAX_CONNECTIONS: positiveInt.default(10_000),
  API_MAX_WAITS: positiveInt.default(256),
  API_MAX_WAITS_PER_KEY: positiveInt.default(4),
  API_MAX_QUERIES_PER_KEY: positiveInt.default(8),
  API_MAX_SCAN_RANGE_MS: positiveInt.default(31 * DAY_MS),
  API_LIVE_MAX_CONNECTIONS: positiveInt.default(200),
  API_LIVE_MAX_CONNECTIONS_PER_KEY: positiveInt.default(4),
  API_LIVE_BUFFER_EVENTS: positiveInt.default(1_000),
  API_LIVE_REPLAY_EVENTS: positiveInt.default(2_000),
  API_LIVE_HEARTBEAT_MS: positiveInt.default(15_000),
  API_LIVE_IDLE_MS: positiveInt.default(60_000),
  KAFKA_LINGER_MS: z.coerce.number().int().min(0).default(2),
  KAFKA_BROKERS: csv.default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().default('streamtrack'),
  KAFKA_EVENTS_TOPIC: z.string().default('streamtrack.events'),
  KAFKA_EVENTS_PARTITIONS: positiveInt.default(12),
  KAFKA_CONSUMER_GROUP: z.string().default('streamtrack-topology'),
  KAFKA_LIVE_GROUP_PREFIX: z.string().min(1).default(DEFAULT_LIVE_GROUP_PREFIX),
  // Unset: no authentication (the Docker quick start's broker). Production and
  // the native stack authenticate every client with SCRAM.
  KAFKA_SASL_MECHANISM: optional(z.enum(['scram-sha-512'])),
  KAFKA_SASL_USERNAME: optional(z.string()),
  KAFKA_SASL_PASSWORD: optional(z.string()),
  KAFKA_SSL: z.enum(['true', 'false']).default('false'),
  KAFKA_SESSION_TIMEOUT_MS: positiveInt.default(10_000),
  SCHEMA_REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081'),
  SCHEMA_REFRESH_MS: positiveInt.default(30_000),
  SCHEMAS_REGISTER_ON_START: z.enum(['true', 'false']).default('true'),
  CLICKHOUSE_URL: z.string().url().default('http://127.0.0.1:8123'),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('streamtrack'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_REQUEST_TIMEOUT_MS: positiveInt.default(8_000),
  TOPOLOGY_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  TOPOLOGY_SESSION_GAP_MS: positiveInt.default(30 * 60_000),
  TOPOLOGY_ROLLING_UPDATE_MS: positiveInt.default(10_000),
  TOPOLOGY_LATE_POLICY: z.enum(['drop', 'correct']).default('drop'),
  TOPOLOGY_EMIT_WITHIN_MS: positiveInt.default(1_000),
  TOPOLOGY_IDLE_AFTER_MS: positiveInt.default(30_000),
  TOPOLOGY_MAX_OPEN_WINDOWS: positiveInt.default(40_000),
  TOPOLOGY_MAX_ACTIONS_PER_WINDOW: positiveInt.default(100),
  TOPOLOGY_NUMERIC_PROPERTIES: csv.default('amount,price,value,duration_ms'),
  WORKER_HTTP_HOST: z.string().default('127.0.0.1'),
  WORKER_HTTP_PORT: portOrAny.default(9464),
  WORKER_SHUTDOWN_GRACE_MS: positiveInt.default(20_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((e, ctx) => {
  if (!e.KAFKA_SASL_MECHANISM) return;
  for (const key of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
    if (!e[key]) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: `required when KAFKA_SASL_MECHANISM is set` });
  }
});

export interface KafkaSasl {
  mechanism: 'scram-sha-512';
  username: string;
  password: string;
}

export interface Config {
  auth: {
    mode: 'open' | 'keys';
    /** How often each API process reloads the keys: the longest a revocation takes to reach it, plus a query. */
    refreshMs: number;
    /** Per key, per API replica, unless the project sets its own. */
    writeEventsPerSecond: number;
    readRequestsPerSecond: number;
    /** Read requests of one key or token in flight at once (each runs ClickHouse queries). */
    queriesPerKey: number;
  };
  api: {
    host: string;
    port: number;
    maxBodyBytes: number;
    maxEventBytes: number;
    maxBatchEvents: number;
    maxFutureMs: number;
    maxPastMs: number;
    publishTimeoutMs: number;
    /** The operations server: /healthz, the detailed /readyz, /metrics; never exposed to clients. */
    opsHost: string;
    opsPort: number;
    server: HttpServerLimits;
    /** Concurrent `wait_for` long-polls in this process (429 `too_many_waits` beyond). */
    maxWaits: number;
    /** Concurrent `wait_for` long-polls of one key or token. */
    maxWaitsPerKey: number;
    /** Longest event-time range of an /activities read without a user filter. */
    maxScanRangeMs: number;
    live: LiveLimits;
  };
  kafka: {
    brokers: string[];
    clientId: string;
    eventsTopic: string;
    eventsPartitions: number;
    consumerGroup: string;
    /** The live tail's consumer groups begin with this (one per API process, never committed): the API user's ACL is on the prefix. */
    liveGroupPrefix: string;
    lingerMs: number;
    /** Absent: the brokers take unauthenticated clients. */
    sasl?: KafkaSasl;
    /** TLS to the brokers (KAFKA_SSL=true), with the system's trusted CAs. */
    ssl: boolean;
    /** The worker's consumer-group session: without a heartbeat for this long, its partitions go to another member. */
    sessionTimeoutMs: number;
  };
  schemaRegistry: { url: string; refreshMs: number; registerOnStart: boolean };
  clickhouse: {
    url: string;
    database: string;
    username: string;
    password: string;
    /** Below the session timeout: a write the worker started while it owned its partitions ends (or fails) before a lapsed lease could hand them to another member. */
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
  worker: {
    httpHost: string;
    httpPort: number;
    /** SIGTERM to exit: what finishes within it is committed, the rest left to the partitions' next owner; then the process exits regardless. */
    shutdownGraceMs: number;
  };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

/** GET /live/events: what the tail of the events topic keeps and how many may follow it (src/api/live.ts). */
export interface LiveLimits {
  /** Streams open at once in this process (503 beyond) and of one key or token (429 beyond). */
  maxConnections: number;
  maxConnectionsPerKey: number;
  /** Events one stream holds for a reader that does not keep up; beyond, the oldest are dropped and the stream says how many. */
  bufferEvents: number;
  /** Recent events the process keeps so a reconnecting stream (Last-Event-ID) misses nothing. */
  replayEvents: number;
  /** Wall time between two heartbeats of an idle stream. */
  heartbeatMs: number;
  /** Wall time the tail keeps reading the topic after its last stream closed. */
  idleMs: number;
}

/** What one client may hold of the HTTP server (src/http/listen.ts). */
export interface HttpServerLimits {
  /** From connection (or the previous response) to the last header byte. */
  headersTimeoutMs: number;
  /** From connection to the last body byte: the whole request. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Connections held at once; a connection over the cap is closed at once. */
  maxConnections: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  // Node refuses a headers timeout above the request timeout.
  if (e.API_HEADERS_TIMEOUT_MS > e.API_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration: API_HEADERS_TIMEOUT_MS must not exceed API_REQUEST_TIMEOUT_MS');
  }
  // The worker is fenced by its lease of heartbeats (one session): a write it started as the owner must end inside one.
  if (e.CLICKHOUSE_REQUEST_TIMEOUT_MS >= e.KAFKA_SESSION_TIMEOUT_MS) {
    throw new ConfigError(
      `invalid configuration: CLICKHOUSE_REQUEST_TIMEOUT_MS (${e.CLICKHOUSE_REQUEST_TIMEOUT_MS}) must be below KAFKA_SESSION_TIMEOUT_MS (${e.KAFKA_SESSION_TIMEOUT_MS})`,
    );
  }
  return {
    auth: {
      mode: e.STREAMTRACK_AUTH,
      refreshMs: e.AUTH_REFRESH_MS,
      writeEventsPerSecond: e.API_WRITE_EVENTS_PER_SECOND,
      readRequestsPerSecond: e.API_READ_REQUESTS_PER_SECOND,
      queriesPerKey: e.API_MAX_QUERIES_PER_KEY,
    },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      maxBodyBytes: e.API_MAX_BODY_BYTES,
      maxEventBytes: e.API_MAX_EVENT_BYTES,
      maxBatchEvents: e.API_MAX_BATCH_EVENTS,
      maxFutureMs: e.API_MAX_FUTURE_MS,
      maxPastMs: e.API_MAX_PAST_MS,
      publishTimeoutMs: e.API_PUBLISH_TIMEOUT_MS,
      opsHost: e.API_OPS_HOST,
      opsPort: e.API_OPS_PORT,
      server: {
        headersTimeoutMs: e.API_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: e.API_REQUEST_TIMEOUT_MS,
        keepAliveTimeoutMs: e.API_KEEP_ALIVE_TIMEOUT_MS,
        maxConnections: e.API_MAX_CONNECTIONS,
      },
      maxWaits: e.API_MAX_WAITS,
      maxWaitsPerKey: e.API_MAX_WAITS_PER_KEY,
      maxScanRangeMs: e.API_MAX_SCAN_RANGE_MS,
      live: {
        maxConnections: e.API_LIVE_MAX_CONNECTIONS,
        maxConnectionsPerKey: e.API_LIVE_MAX_CONNECTIONS_PER_KEY,
        bufferEvents: e.API_LIVE_BUFFER_EVENTS,
        replayEvents: e.API_LIVE_REPLAY_EVENTS,
        heartbeatMs: e.API_LIVE_HEARTBEAT_MS,
        idleMs: e.API_LIVE_IDLE_MS,
      },
    },
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      eventsTopic: e.KAFKA_EVENTS_TOPIC,
      eventsPartitions: e.KAFKA_EVENTS_PARTITIONS,
      consumerGroup: e.KAFKA_CONSUMER_GROUP,
      liveGroupPrefix: e.KAFKA_LIVE_GROUP_PREFIX,
      lingerMs: e.KAFKA_LINGER_MS,
      ...(e.KAFKA_SASL_MECHANISM && {
        sasl: { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME ?? '', password: e.KAFKA_SASL_PASSWORD ?? '' },
      }),
      ssl: e.KAFKA_SSL === 'true',
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
    worker: { httpHost: e.WORKER_HTTP_HOST, httpPort: e.WORKER_HTTP_PORT, shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS },
    logLevel: e.LOG_LEVEL,
  };
}
