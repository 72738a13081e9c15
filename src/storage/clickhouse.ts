/**
 * ClickHouse access over HTTP with @clickhouse/client: the only way the
 * product talks to ClickHouse (a real server, or in tests whatever serves its
 * HTTP interface).
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config.js';

export type { ClickHouseClient };

export function createClickHouse(config: Config['clickhouse'], database = config.database): ClickHouseClient {
  return createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    database,
    request_timeout: config.requestTimeoutMs,
    compression: { request: false, response: false },
    clickhouse_settings: {
      // Times leave ClickHouse as ISO-8601 UTC, the API's format.
      date_time_output_format: 'iso',
    },
  });
}
