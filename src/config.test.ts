import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('Kafka authentication settings', () => {
  it('leaves SASL off when no mechanism is set, or it is set empty', () => {
    expect(loadConfig({}).kafka.sasl).toBeUndefined();
    expect(loadConfig({ KAFKA_SASL_MECHANISM: '', KAFKA_SASL_USERNAME: '' }).kafka.sasl).toBeUndefined();
    expect(loadConfig({}).kafka.ssl).toBe(false);
  });

  it('takes SCRAM-SHA-512 with a user and a password, and TLS when asked', () => {
    const kafka = loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'streamtrack-api', KAFKA_SASL_PASSWORD: 'p', KAFKA_SSL: 'true' }).kafka;
    expect(kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'streamtrack-api', password: 'p' });
    expect(kafka.ssl).toBe(true);
  });

  it('refuses a mechanism without its credentials, naming what is missing', () => {
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' })).toThrow(
      new ConfigError('invalid configuration: KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set'),
    );
  });

  it('refuses a mechanism it does not speak', () => {
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(/KAFKA_SASL_MECHANISM/);
  });
});

describe('loadConfig', () => {
  it('keeps the ClickHouse request timeout below the consumer session timeout by default', () => {
    const config = loadConfig({});
    expect(config.clickhouse.requestTimeoutMs).toBe(8_000);
    expect(config.kafka.sessionTimeoutMs).toBe(10_000);
    expect(config.worker.shutdownGraceMs).toBe(20_000);
    expect(config.topology).toMatchObject({ emitWithinMs: 1_000, idleAfterMs: 30_000 });
  });

  it('refuses a request timeout that a session would not survive', () => {
    expect(() => loadConfig({ CLICKHOUSE_REQUEST_TIMEOUT_MS: '10000' })).toThrow(ConfigError);
    expect(() => loadConfig({ CLICKHOUSE_REQUEST_TIMEOUT_MS: '5000', KAFKA_SESSION_TIMEOUT_MS: '4000' })).toThrow(/must be below KAFKA_SESSION_TIMEOUT_MS/);
    expect(loadConfig({ CLICKHOUSE_REQUEST_TIMEOUT_MS: '5000', KAFKA_SESSION_TIMEOUT_MS: '10000' }).clickhouse.requestTimeoutMs).toBe(5_000);
  });
});
