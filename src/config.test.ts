import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('keeps the ClickHouse request timeout below the consumer session timeout by default', () => {
    const config = loadConfig({});
    expect(config.clickhouse.requestTimeoutMs).toBe(20_000);
    expect(config.kafka.sessionTimeoutMs).toBe(30_000);
    expect(config.topology).toMatchObject({ emitWithinMs: 1_000, idleAfterMs: 30_000 });
  });

  it('refuses a request timeout that a session would not survive', () => {
    expect(() => loadConfig({ CLICKHOUSE_REQUEST_TIMEOUT_MS: '30000' })).toThrow(ConfigError);
    expect(() => loadConfig({ CLICKHOUSE_REQUEST_TIMEOUT_MS: '5000', KAFKA_SESSION_TIMEOUT_MS: '4000' })).toThrow(/must be below KAFKA_SESSION_TIMEOUT_MS/);
    expect(loadConfig({ CLICKHOUSE_REQUEST_TIMEOUT_MS: '5000', KAFKA_SESSION_TIMEOUT_MS: '10000' }).clickhouse.requestTimeoutMs).toBe(5_000);
  });
});
