/**
 * ClickHouse access over HTTP with @clickhouse/client: the only way the
 * product talks to ClickHouse (a real server, or in tests whatever serves its
 * HTTP interface).
 */
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { Config } from '../config.js';
import { READ_LIMITS, READ_REQUEST_TIMEOUT_MS } from './read-limits.js';

export type { ClickHouseClient };

interface ClientOptions {
  /** Settings every query of the client carries. */
  settings?: ClickHouseSettings;
  requestTimeoutMs?: number;
}

export function createClickHouse(config: Config['clickhouse'], database = config.database, options: ClientOptions = {}): ClickHouseClient {
  return createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    database,
    request_timeout: options.requestTimeoutMs ?? config.requestTimeoutMs,
    compression: { request: false, response: false },
    clickhouse_settings: {
      // Times leave ClickHouse as ISO-8601 UTC, the API's format.
      date_time_output_format: 'iso',
      ...options.settings,
    },
  });
}

/** The API's client: every query it runs is held to READ_LIMITS. */
export function createReadClickHouse(config: Config['clickhouse']): ClickHouseClient {
  return createClickHouse(config, config.database, { settings: READ_LIMITS, requestTimeoutMs: READ_REQUEST_TIMEOUT_MS });
}
