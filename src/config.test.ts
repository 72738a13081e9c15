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
