/**
 * For a test file that talks to ClickHouse directly: a database of its own
 * with every migration applied (before the file's tests), and a client on
 * it, closed after them.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { createClickHouse, type ClickHouseClient } from '../src/storage/clickhouse.js';
import { migrate } from '../src/storage/migrations.js';
import { isolatedConfig } from './test-config.js';

export function migratedClickHouse(): () => ClickHouseClient {
  const config = isolatedConfig(inject('services'));
  let client: ClickHouseClient | undefined;
  beforeAll(async () => {
    await migrate(config.clickhouse);
    client = createClickHouse(config.clickhouse);
  });
  afterAll(async () => {
    await client?.close();
  });
  return () => {
    if (!client) throw new Error('ClickHouse is used before the migrations ran');
    return client;
  };
}
